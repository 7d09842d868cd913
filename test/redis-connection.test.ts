// The Redis connection's command timeout: a Redis that stops answering fails the command, while an answer that came
// in while the event loop was stalled past the deadline still counts (no false "store unavailable" under CPU load).
import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { connectRedis } from '../src/stores/redis/connection.js';
import { redisUrl } from './helpers/services.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A TCP proxy to the test Redis that can stop passing the client's commands on (Redis then never answers). */
async function freezingProxy(): Promise<{ url: string; freeze(): void }> {
  const target = new URL(redisUrl);
  const sockets = new Set<Socket>();
  let frozen = false;
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port || 6379), target.hostname);
    sockets.add(client).add(upstream);
    client.on('data', (chunk) => { if (!frozen) upstream.write(chunk); });
    upstream.pipe(client);
    const end = () => { client.destroy(); upstream.destroy(); };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `redis://127.0.0.1:${(server.address() as AddressInfo).port}`, freeze: () => { frozen = true; } };
}

async function open(url: string, commandTimeoutMs: number): Promise<Redis> {
  const redis = await connectRedis({ url, commandTimeoutMs });
  cleanups.push(() => { redis.disconnect(); });
  return redis;
}

function busyFor(milliseconds: number): void {
  const end = performance.now() + milliseconds;
  while (performance.now() < end) { /* the event loop is stalled, as under heavy CPU load */ }
}

describe('Redis command timeout', () => {
  it('serves an answer that arrived while the event loop was stalled past the deadline', async () => {
    const redis = await open(redisUrl, 100);
    const key = `covenant-test:${randomUUID()}`;
    cleanups.push(async () => { await redis.del(key); });
    for (let round = 0; round < 5; round++) {
      const pending = redis.set(key, String(round));
      busyFor(400);
      await expect(pending).resolves.toBe('OK');
    }
    expect(await redis.get(key)).toBe('4');
  });

  it('fails a command Redis never answers, after about the timeout', async () => {
    const proxy = await freezingProxy();
    const redis = await open(proxy.url, 150);
    expect(await redis.ping()).toBe('PONG');
    proxy.freeze();
    const started = performance.now();
    await expect(redis.get(`covenant-test:${randomUUID()}`)).rejects.toThrow('Command timed out');
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(140);
    expect(waited).toBeLessThan(5000);
  });
});
