// Test helper: tear down a set of gateway replicas on one PostgreSQL schema and Redis (through a TCP proxy), and their keys.
import { rmSync } from 'node:fs';
import { Redis } from 'ioredis';
import type { App } from '../../src/gateway/app.js';
import { redisUrl, type TcpProxy, type TestSchema } from './services.js';

/** Delete every Redis key under `prefix` (SCAN, not KEYS, so a busy shared Redis is not blocked). */
export async function deleteRedisKeys(prefix: string): Promise<void> {
  const redis = new Redis(redisUrl);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

export interface ReplicaSet {
  replicas: App[];
  proxy?: TcpProxy;
  upstream?: { close(): Promise<void> };
  schema?: TestSchema;
  directory?: string;
}

/**
 * Stop everything a distributed test started, whatever state a failed test left it in: the proxy back up so the
 * replicas close cleanly, the replicas, the upstream, the proxy, then the schema's Redis keys, the schema and the folder.
 */
export async function closeReplicaSet(set: ReplicaSet): Promise<void> {
  await set.proxy?.start().catch(() => undefined);
  for (const app of set.replicas) await app.close().catch(() => undefined);
  await set.upstream?.close();
  await set.proxy?.stop();
  if (set.schema) {
    await deleteRedisKeys(`covenant:${set.schema.schema}:`);
    await set.schema.drop();
  }
  if (set.directory) rmSync(set.directory, { recursive: true, force: true });
}
