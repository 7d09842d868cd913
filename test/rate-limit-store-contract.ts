// The RateLimitStore contract suite: the memory and Redis stores must both pass it. Call it from a *.test.ts file.
import { describe, expect, it } from 'vitest';
import type { RateLimitStore, RateRule } from '../src/guards/rate-limits.js';

export interface RateLimitFixture {
  store: RateLimitStore;
  cleanup: () => Promise<void>;
}

const second = 1_800_000_000;
/** A quarter into a second, so Retry-After arithmetic is visible. */
const start = second * 1000 + 250;
const lease = 60_000;

function limit(scope: string, values: Partial<Pick<RateRule, 'rpm' | 'tpm' | 'concurrent'>>): RateRule {
  return { scope, label: scope, rpm: values.rpm ?? 0, tpm: values.tpm ?? 0, concurrent: values.concurrent ?? 0 };
}

let sequence = 0;
const nextId = () => `request-${++sequence}`;

/** Runs the contract against stores made by `makeStore`; each test gets a fresh, empty store. */
export function runRateLimitStoreContract(name: string, makeStore: () => Promise<RateLimitFixture>): void {
  const withStore = (test: (store: RateLimitStore) => Promise<void>) => async () => {
    const fixture = await makeStore();
    try {
      await test(fixture.store);
    } finally {
      await fixture.cleanup();
    }
  };
  const acquire = (store: RateLimitStore, rules: RateRule[], nowMs: number, tokens = 0, id = nextId()) => Promise.resolve(store.acquire({ id, nowMs, tokens, rules, leaseMs: lease }));

  describe(`RateLimitStore contract: ${name}`, () => {
    it('admits rpm requests in a window, refuses the next with the wait until the oldest leaves', withStore(async (store) => {
      const rules = [limit('key:a', { rpm: 3 })];
      for (let index = 0; index < 3; index++) expect(await acquire(store, rules, start + index * 10_000)).toEqual({ ok: true });
      expect(await acquire(store, rules, start + 40_000)).toEqual({ ok: false, rule: 0, limit: 'rpm', retryAfterMs: 19_750 });
      // The first bucket leaves the window 60 seconds after its second began.
      expect(await acquire(store, rules, second * 1000 + 59_999)).toMatchObject({ ok: false, retryAfterMs: 1 });
      expect(await acquire(store, rules, second * 1000 + 60_000)).toEqual({ ok: true });
    }));

    it('takes every rule or none: a refusal by one leaves the others untouched', withStore(async (store) => {
      const key = limit('key:a', { rpm: 2 });
      const user = limit('user:claims/alice', { rpm: 1 });
      expect(await acquire(store, [key, user], start)).toEqual({ ok: true });
      expect(await acquire(store, [key, user], start)).toMatchObject({ ok: false, rule: 1, limit: 'rpm' });
      // The key's counter did not take the refused request: one more fits for another user.
      expect(await acquire(store, [key, limit('user:claims/bob', { rpm: 1 })], start)).toEqual({ ok: true });
      expect(await acquire(store, [key], start)).toMatchObject({ ok: false, rule: 0, limit: 'rpm' });
    }));

    it('counts tokens at admission and corrects them at release', withStore(async (store) => {
      const rules = [limit('department:claims', { tpm: 1000 })];
      const first = nextId();
      expect(await acquire(store, rules, start, 800, first)).toEqual({ ok: true });
      expect(await acquire(store, rules, start + 1000, 300)).toMatchObject({ ok: false, limit: 'tpm', retryAfterMs: 58_750 });
      // It used 100 of the 800 it reserved.
      await store.release({ id: first, admittedMs: start, nowMs: start + 2000, tokenDelta: -700, rules });
      expect(await acquire(store, rules, start + 2000, 300)).toEqual({ ok: true });
      expect(await acquire(store, rules, start + 2000, 600)).toEqual({ ok: true });
      expect(await acquire(store, rules, start + 2000, 1)).toMatchObject({ ok: false, limit: 'tpm' });
    }));

    it('refuses a request larger than the tpm on its own, even on a fresh counter', withStore(async (store) => {
      expect(await acquire(store, [limit('key:a', { tpm: 100 })], start, 101)).toMatchObject({ ok: false, rule: 0, limit: 'tpm', retryAfterMs: 60_000 });
    }));

    it('holds concurrent slots until release', withStore(async (store) => {
      const rules = [limit('key:a', { concurrent: 2 })];
      const first = nextId();
      expect(await acquire(store, rules, start, 0, first)).toEqual({ ok: true });
      expect(await acquire(store, rules, start)).toEqual({ ok: true });
      expect(await acquire(store, rules, start)).toEqual({ ok: false, rule: 0, limit: 'concurrent', retryAfterMs: 1000 });
      await store.release({ id: first, admittedMs: start, nowMs: start + 5, tokenDelta: 0, rules });
      expect(await acquire(store, rules, start + 10)).toEqual({ ok: true });
    }));

    it('admits exactly the limit when many requests race', withStore(async (store) => {
      const rules = [limit('key:race', { rpm: 20, concurrent: 25 })];
      const results = await Promise.all(Array.from({ length: 60 }, () => acquire(store, rules, start)));
      expect(results.filter((result) => result.ok)).toHaveLength(20);
    }));

    it('keeps scopes apart', withStore(async (store) => {
      expect(await acquire(store, [limit('user:claims/alice', { rpm: 1 })], start)).toEqual({ ok: true });
      expect(await acquire(store, [limit('user:claims/bob', { rpm: 1 })], start)).toEqual({ ok: true });
      expect(await acquire(store, [limit('user:claims/alice', { rpm: 1 })], start)).toMatchObject({ ok: false });
    }));
  });
}
