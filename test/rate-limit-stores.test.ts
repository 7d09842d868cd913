// The rate-limit stores: the shared contract on memory and Redis, and what only the shared Redis store must do.
import { describe, expect, it } from 'vitest';
import { CovenantError } from '../src/core/errors.js';
import { createMemoryRateLimitStore } from '../src/stores/memory/rate-limit-store.js';
import { createRedisRateLimitStore } from '../src/stores/redis/rate-limit-store.js';
import { runRateLimitStoreContract } from './rate-limit-store-contract.js';
import { createTestRedisPrefix, redisUrl } from './helpers/services.js';

runRateLimitStoreContract('memory', async () => ({ store: createMemoryRateLimitStore(), cleanup: async () => {} }));

runRateLimitStoreContract('redis', async () => {
  const prefix = createTestRedisPrefix();
  const store = await createRedisRateLimitStore({ redisUrl, prefix: prefix.prefix });
  return { store, cleanup: async () => { await store.close(); await prefix.cleanup(); } };
});

const rule = { scope: 'key:a', label: 'key a', rpm: 0, tpm: 0, concurrent: 1 };

describe('memory rate-limit store', () => {
  it('drops the counters of scopes idle for a window, but not of requests still in flight', () => {
    const store = createMemoryRateLimitStore();
    const start = 1_800_000_000_000;
    // Many users (an acquire under load looks at a few counters only), then a quiet spell.
    const users = 30_000;
    for (let index = 0; index < users; index++) {
      store.acquire({ id: `user-${index}`, nowMs: start, tokens: 5, rules: [{ scope: `user:claims/${index}`, label: 'user', rpm: 10, tpm: 100, concurrent: 0 }], leaseMs: 1000 });
    }
    store.acquire({ id: 'long', nowMs: start, tokens: 0, rules: [rule], leaseMs: 1000 });
    expect(store.size).toBe(users + 1);
    store.acquire({ id: 'later', nowMs: start + 61_000, tokens: 0, rules: [{ ...rule, scope: 'key:b' }], leaseMs: 1000 });
    // The first request after the quiet spell: the users' counters are gone; the key with a request in flight keeps its slot taken.
    expect(store.size).toBe(2);
    expect(store.acquire({ id: 'next', nowMs: start + 61_000, tokens: 0, rules: [rule], leaseMs: 1000 })).toMatchObject({ ok: false, limit: 'concurrent' });
  });

  it("drops an idle end user's counters soon after a window, not up to a window later", () => {
    const store = createMemoryRateLimitStore();
    const start = 1_800_000_000_000;
    const user = (name: string, nowMs: number) => store.acquire({ id: name, nowMs, tokens: 5, rules: [{ scope: `user:claims/${name}`, label: 'user', rpm: 10, tpm: 100, concurrent: 0 }], leaseMs: 1000 });
    user('first', start);
    user('second', start + 20_000);
    user('third', start + 61_000);
    expect(store.size).toBe(2);
    // The second user has been idle for a window at +80 s: gone by +90 s, with a request of another user then.
    user('fourth', start + 90_000);
    expect(store.size).toBe(2);
    expect(store.acquire({ id: 'again', nowMs: start + 90_000, tokens: 5, rules: [{ scope: 'user:claims/third', label: 'user', rpm: 1, tpm: 0, concurrent: 0 }], leaseMs: 1000 }))
      .toMatchObject({ ok: false, limit: 'rpm', retryAfterMs: 31_000 });
  });
});

describe('Redis rate-limit store', () => {
  it('frees a slot whose holder never released it once its lease ends (a crashed replica)', async () => {
    const prefix = createTestRedisPrefix();
    const store = await createRedisRateLimitStore({ redisUrl, prefix: prefix.prefix });
    try {
      const now = Date.now();
      expect(await store.acquire({ id: 'crashed', nowMs: now, tokens: 0, rules: [rule], leaseMs: 1000 })).toEqual({ ok: true });
      expect(await store.acquire({ id: 'next', nowMs: now + 500, tokens: 0, rules: [rule], leaseMs: 1000 })).toMatchObject({ ok: false, limit: 'concurrent' });
      expect(await store.acquire({ id: 'later', nowMs: now + 1001, tokens: 0, rules: [rule], leaseMs: 1000 })).toEqual({ ok: true });
    } finally {
      await store.close();
      await prefix.cleanup();
    }
  });

  it('lets the counters of an idle scope expire', async () => {
    const prefix = createTestRedisPrefix();
    const store = await createRedisRateLimitStore({ redisUrl, prefix: prefix.prefix });
    try {
      await store.acquire({ id: 'one', nowMs: Date.now(), tokens: 10, rules: [{ ...rule, rpm: 5, tpm: 100 }], leaseMs: 30_000 });
      const keys = await prefix.keys();
      expect(keys.length).toBe(2);
      const { Redis } = await import('ioredis');
      const redis = new Redis(redisUrl);
      const ttls = await Promise.all(keys.map((key) => redis.pttl(key)));
      redis.disconnect();
      for (const ttl of ttls) expect(ttl).toBeGreaterThan(0);
      expect(Math.max(...ttls)).toBeLessThanOrEqual(61_000);
    } finally {
      await store.close();
      await prefix.cleanup();
    }
  });

  it('refuses with 503 rate_limit_store_unavailable when Redis cannot be reached (fail closed)', async () => {
    const store = await createRedisRateLimitStore({ redisUrl: 'redis://127.0.0.1:1', prefix: 'unreachable:' });
    try {
      const refused = await Promise.resolve(store.acquire({ id: 'x', nowMs: Date.now(), tokens: 0, rules: [rule], leaseMs: 1000 })).catch((error) => error);
      expect(refused).toBeInstanceOf(CovenantError);
      expect(refused).toMatchObject({ code: 'rate_limit_store_unavailable', status: 503 });
    } finally {
      await store.close();
    }
  });
});
