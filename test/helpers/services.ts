// Test helper: an isolated PostgreSQL schema and Redis key prefix on the shared services, removed after the test.
import { randomBytes } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import pg from 'pg';
import { Redis } from 'ioredis';

/** The services every development and CI machine runs (DESIGN.md, "Testing approach"); env vars override them. */
export const postgresUrl = process.env.COVENANT_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const redisUrl = process.env.COVENANT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface TestSchema {
  url: string;
  schema: string;
  /** DROP SCHEMA … CASCADE; call it after every pool on the schema is closed. */
  drop(): Promise<void>;
}

/** A fresh schema name `covenant_test_<random>`; the stores create it (openPostgres) on first use. */
export function createTestSchema(): TestSchema {
  const schema = `covenant_test_${randomBytes(6).toString('hex')}`;
  return {
    url: postgresUrl,
    schema,
    async drop() {
      const client = new pg.Client({ connectionString: postgresUrl });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

export interface TestRedisPrefix {
  url: string;
  /** e.g. "covenant_test_1a2b3c:"; every key the test makes starts with it. */
  prefix: string;
  /** Keys under the prefix, for assertions. */
  keys(): Promise<string[]>;
  /** Delete every key under the prefix: what a FLUSHDB would do to this store, without touching other tests' keys. */
  deleteKeys(): Promise<number>;
  /** Delete the keys and close the helper's connection. */
  cleanup(): Promise<void>;
}

export function createTestRedisPrefix(): TestRedisPrefix {
  const prefix = `covenant_test_${randomBytes(6).toString('hex')}:`;
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  const keys = async (): Promise<string[]> => {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 1000);
      found.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    return found;
  };
  const deleteKeys = async (): Promise<number> => {
    const found = await keys();
    for (let start = 0; start < found.length; start += 500) await redis.del(...found.slice(start, start + 500));
    return found.length;
  };
  return {
    url: redisUrl,
    prefix,
    keys,
    deleteKeys,
    async cleanup() {
      try {
        await deleteKeys();
      } finally {
        redis.disconnect();
      }
    },
  };
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (character) => `\\${character}`);
}

export interface TcpProxy {
  port: number;
  /** Close every connection and stop listening: to its clients, the service is down. */
  stop(): Promise<void>;
  /** Listen again on the same port: the service is back. */
  start(): Promise<void>;
}

/** A TCP proxy on 127.0.0.1 to a service, so a test can take the service away from one client without touching it. */
export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, targetHost);
    sockets.add(client);
    sockets.add(upstream);
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  const listen = (port: number) => new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  await listen(0);
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    async stop() {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    start: () => listen(port),
  };
}
