// The BudgetStore contract suite: every store (memory, SQLite, Redis) must pass it. Call it from a *.test.ts file.
import { describe, expect, it } from 'vitest';
import { counterKeyFor } from '../src/core/budget-math.js';
import type { BudgetStore, Reservation } from '../src/budgets/store.js';

export interface StoreFixture {
  store: BudgetStore;
  /** Open the same data again as a restarted process would (without closing the old handle cleanly). */
  reopen?: () => Promise<BudgetStore>;
  cleanup: () => Promise<void>;
}

const orgDay = counterKeyFor('org', 'usd', 'day', '2024-05-01');
const keyDay = counterKeyFor('key:bot', 'usd', 'day', '2024-05-01');
const userMonth = counterKeyFor('user:claims/alice', 'tokens', 'month', '2024-05');
const userBob = counterKeyFor('user:claims/bob', 'tokens', 'month', '2024-05');

let sequence = 0;
function reservation(items: Reservation['items'], createdAt = 1_000): Reservation {
  sequence += 1;
  return { id: `request-${sequence}-${Math.random().toString(36).slice(2)}`, createdAt, items };
}

async function counter(store: BudgetStore, key: string) {
  const found = (await store.read([key])).get(key);
  return { spent: found?.spent ?? 0, reserved: found?.reserved ?? 0 };
}

/**
 * Runs the contract against stores made by `makeStore`; each test gets a fresh, empty store. Durable stores
 * (all but memory) must provide `reopen`, and are checked across a restart.
 * @example runBudgetStoreContract('sqlite', async () => ({store, cleanup}))
 */
export function runBudgetStoreContract(name: string, makeStore: () => Promise<StoreFixture>, options: { durable: boolean } = { durable: true }): void {
  const withStore = (test: (fixture: StoreFixture) => Promise<void>) => async () => {
    const fixture = await makeStore();
    try {
      await test(fixture);
    } finally {
      await fixture.cleanup();
    }
  };

  describe(`BudgetStore contract: ${name}`, () => {
    it('reads counters never used as absent', withStore(async ({ store }) => {
      const counters = await store.read([orgDay]);
      expect(counters.has(orgDay)).toBe(false);
    }));

    it('reserves up to the limit exactly, and not one unit more', withStore(async ({ store }) => {
      expect(await store.tryReserve(reservation([{ counterKey: orgDay, amount: 600, limit: 1000 }]))).toEqual({ ok: true });
      expect(await store.tryReserve(reservation([{ counterKey: orgDay, amount: 400, limit: 1000 }]))).toEqual({ ok: true });
      const refused = await store.tryReserve(reservation([{ counterKey: orgDay, amount: 1, limit: 1000 }]));
      expect(refused).toEqual({ ok: false, counterKey: orgDay, counters: [{ counterKey: orgDay, spent: 0, reserved: 1000 }] });
      expect(await counter(store, orgDay)).toEqual({ spent: 0, reserved: 1000 });
    }));

    it('is all or nothing: one budget short means nothing is reserved anywhere', withStore(async ({ store }) => {
      await store.tryReserve(reservation([{ counterKey: keyDay, amount: 90, limit: 100 }]));
      const result = await store.tryReserve(reservation([
        { counterKey: orgDay, amount: 50, limit: 1000 },
        { counterKey: keyDay, amount: 50, limit: 100 },
      ]));
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.counterKey).toBe(keyDay);
        expect(result.counters).toEqual([
          { counterKey: orgDay, spent: 0, reserved: 0 },
          { counterKey: keyDay, spent: 0, reserved: 90 },
        ]);
      }
      expect(await counter(store, orgDay)).toEqual({ spent: 0, reserved: 0 });
    }));

    it('settles to actual spend, an item without an actual amount at its reservation, and only once', withStore(async ({ store }) => {
      const held = reservation([{ counterKey: orgDay, amount: 500, limit: 1000 }, { counterKey: userMonth, amount: 3000, limit: 10_000 }]);
      await store.tryReserve(held);
      const first = await store.settle(held.id, [120]);
      expect(first.applied).toBe(true);
      expect(first.counters).toEqual(expect.arrayContaining([
        { counterKey: orgDay, spent: 120, reserved: 0 },
        { counterKey: userMonth, spent: 3000, reserved: 0 },
      ]));
      expect(await store.settle(held.id, [120])).toEqual({ applied: false, counters: [] });
      expect(await store.release(held.id)).toEqual({ applied: false, counters: [] });
      expect(await counter(store, orgDay)).toEqual({ spent: 120, reserved: 0 });
    }));

    it('settles each item to the amount at its place in the reservation', withStore(async ({ store }) => {
      const held = reservation([{ counterKey: orgDay, amount: 500, limit: 1000 }, { counterKey: userMonth, amount: 3000, limit: 10_000 }]);
      await store.tryReserve(held);
      await store.settle(held.id, [undefined, 2500]);
      expect(await counter(store, orgDay)).toEqual({ spent: 500, reserved: 0 });
      expect(await counter(store, userMonth)).toEqual({ spent: 2500, reserved: 0 });
    }));

    it('records what the provider billed even when it is above the reservation', withStore(async ({ store }) => {
      const held = reservation([{ counterKey: orgDay, amount: 100, limit: 1000 }]);
      await store.tryReserve(held);
      await store.settle(held.id, [130]);
      expect(await counter(store, orgDay)).toEqual({ spent: 130, reserved: 0 });
    }));

    it('releases without spend, once', withStore(async ({ store }) => {
      const held = reservation([{ counterKey: orgDay, amount: 700, limit: 1000 }]);
      await store.tryReserve(held);
      expect((await store.release(held.id)).applied).toBe(true);
      expect((await store.settle(held.id, [700])).applied).toBe(false);
      expect(await counter(store, orgDay)).toEqual({ spent: 0, reserved: 0 });
      expect((await store.tryReserve(reservation([{ counterKey: orgDay, amount: 1000, limit: 1000 }]))).ok).toBe(true);
    }));

    it('checks the limit given with each call, so a lowered limit applies at once and keeps the spend', withStore(async ({ store }) => {
      const held = reservation([{ counterKey: orgDay, amount: 400, limit: 1000 }]);
      await store.tryReserve(held);
      await store.settle(held.id, [400]);
      expect((await store.tryReserve(reservation([{ counterKey: orgDay, amount: 1, limit: 400 }]))).ok).toBe(false);
      expect((await store.tryReserve(reservation([{ counterKey: orgDay, amount: 600, limit: 1000 }]))).ok).toBe(true);
      expect(await counter(store, orgDay)).toEqual({ spent: 400, reserved: 600 });
    }));

    it('never passes a limit under hundreds of concurrent reservations', withStore(async ({ store }) => {
      const attempts = Array.from({ length: 300 }, () => store.tryReserve(reservation([
        { counterKey: orgDay, amount: 7, limit: 1000 },
        { counterKey: userMonth, amount: 11, limit: 1500 },
      ])));
      const results = await Promise.all(attempts);
      const granted = results.filter((result) => result.ok).length;
      expect(granted).toBe(Math.min(Math.floor(1000 / 7), Math.floor(1500 / 11)));
      expect(await counter(store, orgDay)).toEqual({ spent: 0, reserved: 7 * granted });
      expect((await counter(store, userMonth)).reserved).toBeLessThanOrEqual(1500);
    }));

    it('converts reservations older than the cutoff into spend at their worst case', withStore(async ({ store }) => {
      const old = reservation([{ counterKey: orgDay, amount: 300, limit: 1000 }], 1_000);
      const recent = reservation([{ counterKey: orgDay, amount: 200, limit: 1000 }], 5_000);
      await store.tryReserve(old);
      await store.tryReserve(recent);
      expect(await store.recoverOrphans(2_000)).toBe(1);
      expect(await counter(store, orgDay)).toEqual({ spent: 300, reserved: 200 });
      expect((await store.settle(old.id, [10])).applied).toBe(false);
      expect((await store.settle(recent.id, [10])).applied).toBe(true);
      expect(await counter(store, orgDay)).toEqual({ spent: 310, reserved: 0 });
    }));

    it('lists spend by scope and by scope prefix', withStore(async ({ store }) => {
      for (const key of [orgDay, userMonth, userBob]) {
        const held = reservation([{ counterKey: key, amount: 10, limit: 100 }]);
        await store.tryReserve(held);
        await store.settle(held.id, [4]);
      }
      const users = await store.spend({ scopePrefix: 'user:claims/' });
      expect(users.map((record) => record.scope)).toEqual(['user:claims/alice', 'user:claims/bob']);
      expect(users[0]).toEqual({ counterKey: userMonth, scope: 'user:claims/alice', unit: 'tokens', period: 'month', windowKey: '2024-05', spent: 4, reserved: 0 });
      expect((await store.spend({ scope: 'org' })).map((record) => record.counterKey)).toEqual([orgDay]);
      expect((await store.spend()).length).toBe(3);
    }));

    it('narrows spend to given windows, and a prefix to the scopes that start with it', withStore(async ({ store }) => {
      const aprilAlice = counterKeyFor('user:claims/alice', 'tokens', 'month', '2024-04');
      // Scopes that sort right after the prefix's range, or share it only in part, must stay out.
      const neighbours = [counterKeyFor('user:claims0', 'tokens', 'month', '2024-05'), counterKeyFor('user:claim', 'tokens', 'month', '2024-05')];
      for (const key of [userMonth, aprilAlice, userBob, ...neighbours]) {
        const held = reservation([{ counterKey: key, amount: 10, limit: 100 }]);
        await store.tryReserve(held);
        await store.settle(held.id, [3]);
      }
      const current = await store.spend({ scopePrefix: 'user:claims/', windowKeys: ['2024-05'] });
      expect(current.map((record) => record.counterKey)).toEqual([userMonth, userBob]);
      expect((await store.spend({ scopePrefix: 'user:claims/' })).map((record) => record.counterKey).sort()).toEqual([aprilAlice, userMonth, userBob].sort());
      expect((await store.spend({ scope: 'user:claims/alice', windowKeys: ['2024-04', '2024-03'] })).map((record) => record.counterKey)).toEqual([aprilAlice]);
      expect(await store.spend({ scopePrefix: 'user:claims/', windowKeys: [] })).toEqual([]);
    }));

    it('prunes a counter only when it holds no open reservation and still has the spend reported', withStore(async ({ store }) => {
      const settled = reservation([{ counterKey: orgDay, amount: 100, limit: 1000 }]);
      await store.tryReserve(settled);
      await store.settle(settled.id, [40]);
      const open = reservation([{ counterKey: keyDay, amount: 50, limit: 1000 }]);
      await store.tryReserve(open);
      const changed = reservation([{ counterKey: userMonth, amount: 10, limit: 100 }]);
      await store.tryReserve(changed);
      await store.settle(changed.id, [7]);
      const pruned = await store.pruneCounters([
        { counterKey: orgDay, spent: 40 }, { counterKey: keyDay, spent: 0 }, { counterKey: userMonth, spent: 6 }, { counterKey: userBob, spent: 0 },
      ]);
      expect(pruned).toEqual([orgDay]);
      expect((await store.read([orgDay])).has(orgDay)).toBe(false);
      expect((await store.spend()).map((record) => record.counterKey).sort()).toEqual([keyDay, userMonth].sort());
      expect(await counter(store, keyDay)).toEqual({ spent: 0, reserved: 50 });
      expect(await counter(store, userMonth)).toEqual({ spent: 7, reserved: 0 });
      // The open reservation still settles into its own counter.
      expect((await store.settle(open.id, [30])).applied).toBe(true);
      expect(await counter(store, keyDay)).toEqual({ spent: 30, reserved: 0 });
      expect(await store.pruneCounters([])).toEqual([]);
    }));

    describe('closed windows (what window pruning reads)', () => {
      // Berlin, 2026-10-25: 02:00 happens at 00:00Z (+02:00) and again at 01:00Z (+01:00); the cutoff falls in the second.
      const cutoff = Date.parse('2026-10-25T01:30:00Z');
      const closedBefore = { cutoff, timeZone: 'Europe/Berlin' };
      const closed = [
        counterKeyFor('user:claims/alice', 'tokens', 'month', '2026-09'),
        // One window's counters by scope, then key ('user:claims/al|' sorts after 'user:claims/alice|' as a whole key).
        counterKeyFor('org', 'usd', 'day', '2026-10-24'),
        counterKeyFor('user:claims/al', 'usd', 'day', '2026-10-24'),
        counterKeyFor('user:claims/alice', 'tokens', 'day', '2026-10-24'),
        counterKeyFor('user:claims/alice', 'usd', 'day', '2026-10-24'),
        counterKeyFor('org', 'usd', 'hour', '2026-10-24T23:00+02:00'),
        counterKeyFor('org', 'usd', 'hour', '2026-10-25T01:00+02:00'),
        // The first 02:00 is over; its key sorts after the second 02:00's, which is not.
        counterKeyFor('org', 'usd', 'hour', '2026-10-25T02:00+02:00'),
        counterKeyFor('org', 'usd', 'week', '2026-W42'),
      ];
      const open = [
        counterKeyFor('org', 'usd', 'month', '2026-10'),
        counterKeyFor('org', 'usd', 'day', '2026-10-25'),
        counterKeyFor('org', 'usd', 'hour', '2026-10-25T02:00+01:00'),
        counterKeyFor('org', 'usd', 'hour', '2026-10-25T03:00+01:00'),
        counterKeyFor('org', 'usd', 'week', '2026-W43'),
        counterKeyFor('org', 'usd', 'total', 'total'),
      ];
      const reservedClosed = counterKeyFor('key:bot', 'usd', 'day', '2026-10-24');
      const fill = async (store: BudgetStore) => {
        for (const key of [...open, ...[...closed].reverse()]) {
          const held = reservation([{ counterKey: key, amount: 10, limit: 100 }]);
          await store.tryReserve(held);
          await store.settle(held.id, [6]);
        }
        await store.tryReserve(reservation([{ counterKey: reservedClosed, amount: 10, limit: 100 }]));
      };

      it('lists only unreserved counters of windows over, oldest window first, hour windows as instants across DST', withStore(async ({ store }) => {
        await fill(store);
        const listed = await store.spend({ closedBefore });
        expect(listed.map((record) => record.counterKey)).toEqual(closed);
        expect(listed[0]).toEqual({
          counterKey: closed[0], scope: 'user:claims/alice', unit: 'tokens', period: 'month', windowKey: '2026-09', spent: 6, reserved: 0,
        });
        // An hour later the second 02:00 is over too, and the day of the 24th's hours stay in key order.
        const later = await store.spend({ closedBefore: { ...closedBefore, cutoff: cutoff + 3_600_000 } });
        expect(later.map((record) => record.windowKey)).toContain('2026-10-25T02:00+01:00');
        expect(later.map((record) => record.counterKey)).not.toContain(reservedClosed);
      }));

      it('returns at most `limit` counters, the oldest, cutting a window between its scopes', withStore(async ({ store }) => {
        await fill(store);
        expect((await store.spend({ closedBefore, limit: 3 })).map((record) => record.counterKey)).toEqual(closed.slice(0, 3));
        expect((await store.spend({ closedBefore, limit: 1 })).map((record) => record.counterKey)).toEqual(closed.slice(0, 1));
        expect(await store.spend({ closedBefore: { ...closedBefore, cutoff: Date.parse('2026-09-01T00:00:00Z') } })).toEqual([]);
      }));
    });

    if (options.durable) it('keeps a pruned counter gone across a restart', withStore(async ({ store, reopen }) => {
      if (!reopen) throw new Error('a durable store fixture must provide reopen');
      for (const key of [orgDay, keyDay]) {
        const held = reservation([{ counterKey: key, amount: 10, limit: 100 }]);
        await store.tryReserve(held);
        await store.settle(held.id, [5]);
      }
      expect(await store.pruneCounters([{ counterKey: orgDay, spent: 5 }])).toEqual([orgDay]);
      const restarted = await reopen();
      expect((await restarted.spend()).map((record) => record.counterKey)).toEqual([keyDay]);
    }));

    // Registered for durable stores only: the memory store forgets everything by design.
    if (options.durable) it('keeps spend and in-flight reservations across a restart; recovery counts them at worst case', withStore(async ({ store, reopen }) => {
      if (!reopen) throw new Error('a durable store fixture must provide reopen');
      const settled = reservation([{ counterKey: orgDay, amount: 100, limit: 1000 }]);
      await store.tryReserve(settled);
      await store.settle(settled.id, [40]);
      await store.tryReserve(reservation([{ counterKey: orgDay, amount: 250, limit: 1000 }, { counterKey: keyDay, amount: 250, limit: 1000 }]));
      const restarted = await reopen();
      expect(await counter(restarted, orgDay)).toEqual({ spent: 40, reserved: 250 });
      expect(await restarted.recoverOrphans(Number.MAX_SAFE_INTEGER)).toBe(1);
      expect(await counter(restarted, orgDay)).toEqual({ spent: 290, reserved: 0 });
      expect(await counter(restarted, keyDay)).toEqual({ spent: 250, reserved: 0 });
    }));
  });
}
