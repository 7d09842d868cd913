// The SQLite budget store's memory stays bounded with many end users: idle counters and those past the cache limit leave memory, spend stays exact.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { counterKeyFor } from '../src/core/budget-math.js';
import { createSqliteBudgetStore } from '../src/stores/sqlite/budget-store.js';
import { openDatabase, type SqliteDatabase } from '../src/stores/sqlite/database.js';

/** A database file in a folder of its own, every connection closed and the folder removed after. */
function temporaryDatabase() {
  const folder = mkdtempSync(join(tmpdir(), 'covenant-budget-expiry-'));
  const path = join(folder, 'covenant.db');
  const opened: SqliteDatabase[] = [];
  return {
    open: () => {
      const database = openDatabase(path);
      opened.push(database);
      return database;
    },
    [Symbol.dispose]: () => {
      for (const database of opened) if (database.open) database.close();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

const orgDay = counterKeyFor('org', 'usd', 'day', '2024-05-01');
const userDay = (user: number) => counterKeyFor(`user:claims/u${user}`, 'usd', 'day', '2024-05-01');

describe('the SQLite budget store with many end users', () => {
  it('drops idle users\' counters from memory after the expiry, and a returning user\'s spend is still exact', async () => {
    using test = temporaryDatabase();
    let now = 1_000_000;
    const store = createSqliteBudgetStore(test.open(), { idleMs: 60_000, clock: () => now, foldIntervalMs: 60_000 });
    let id = 0;
    const request = async (user: number, amount: number, spent: number) => {
      const rid = `r${id++}`;
      await store.tryReserve({ id: rid, createdAt: now, items: [{ counterKey: orgDay, amount, limit: 1e9 }, { counterKey: userDay(user), amount, limit: 1000 }] });
      await store.settle(rid, [spent, spent]);
    };
    for (let user = 0; user < 500; user += 1) await request(user, 100, 40);
    expect(store.cachedCounters).toBe(501);
    // Idle past the expiry: the users' counters leave memory once they are in the database (spend() folds).
    now += 30_000;
    await request(0, 100, 40);
    await store.spend({ scope: 'org' });
    now += 61_000;
    await request(0, 100, 40);
    await store.spend({ scope: 'org' });
    now += 31_000;
    await expect.poll(() => store.cachedCounters, { timeout: 5000, interval: 100 }).toBe(2);
    // A returning user carries on from the spend the database holds, and the limit still binds exactly.
    expect((await store.read([userDay(7)])).get(userDay(7))).toEqual({ counterKey: userDay(7), spent: 40, reserved: 0 });
    await request(7, 900, 900);
    expect((await store.read([userDay(7)])).get(userDay(7))).toEqual({ counterKey: userDay(7), spent: 940, reserved: 0 });
    const refused = await store.tryReserve({ id: 'over', createdAt: now, items: [{ counterKey: userDay(7), amount: 61, limit: 1000 }] });
    expect(refused.ok).toBe(false);
    // The org counter was used all along: exact over every request.
    expect((await store.read([orgDay])).get(orgDay)?.spent).toBe(40 * 502 + 900);
    await store.close();
  });

  it('keeps at most the cache limit of counters unused since the last fold, and the hot ones stay', async () => {
    using test = temporaryDatabase();
    const store = createSqliteBudgetStore(test.open(), { cacheLimit: 100, foldIntervalMs: 60_000 });
    for (let user = 0; user < 1000; user += 1) {
      await store.tryReserve({ id: `r${user}`, createdAt: 1, items: [{ counterKey: orgDay, amount: 10, limit: 1e9 }, { counterKey: userDay(user), amount: 10, limit: 100 }] });
      await store.settle(`r${user}`, [3, 3]);
      // spend() folds: past the limit, what was not used since the previous fold leaves memory.
      if (user % 50 === 49) await store.spend({ scope: 'org' });
      expect(store.cachedCounters).toBeLessThanOrEqual(160);
    }
    const users = await store.spend({ scopePrefix: 'user:claims/' });
    expect(users).toHaveLength(1000);
    expect(users.every((counter) => counter.spent === 3 && counter.reserved === 0)).toBe(true);
    expect((await store.read([orgDay])).get(orgDay)?.spent).toBe(3000);
    await store.close();
  });

  it('binds returning users on the spend the database holds, whether a turn misses a few counters or many', async () => {
    using test = temporaryDatabase();
    const store = createSqliteBudgetStore(test.open(), { cacheLimit: 10, foldIntervalMs: 60_000 });
    for (let user = 0; user < 100; user += 1) {
      await store.tryReserve({ id: `r${user}`, createdAt: 1, items: [{ counterKey: userDay(user), amount: 50, limit: 100 }] });
      await store.settle(`r${user}`, [40]);
    }
    await store.spend({ scope: 'org' });
    expect(store.cachedCounters).toBeLessThanOrEqual(10);
    const over = (user: number) => store.tryReserve({ id: `over${user}`, createdAt: 2, items: [{ counterKey: userDay(user), amount: 61, limit: 100 }] });
    // Thirty misses in one turn (read by the fold thread), then one alone (read on the event loop).
    const burst = await Promise.all(Array.from({ length: 30 }, (_, user) => over(user + 50)));
    expect(burst.every((result) => !result.ok)).toBe(true);
    expect((await over(20)).ok).toBe(false);
    const fits = await store.tryReserve({ id: 'fits', createdAt: 2, items: [{ counterKey: userDay(21), amount: 60, limit: 100 }] });
    expect(fits.ok).toBe(true);
    await store.close();
  });

  it('loses nothing on restart with counters evicted and some still only in the journal', async () => {
    using test = temporaryDatabase();
    let now = 0;
    const store = createSqliteBudgetStore(test.open(), { cacheLimit: 10, idleMs: 1000, clock: () => now, foldIntervalMs: 60_000 });
    for (let user = 0; user < 100; user += 1) {
      now += 100;
      await store.tryReserve({ id: `r${user}`, createdAt: now, items: [{ counterKey: userDay(user % 30), amount: 10, limit: 1000 }] });
      await store.settle(`r${user}`, [7]);
      if (user % 20 === 19) await store.spend({ scope: 'org' });
    }
    // No close: the last changes are only in the journal, as after a SIGKILL.
    const restarted = createSqliteBudgetStore(test.open());
    const spent = [...(await restarted.read(Array.from({ length: 30 }, (_, user) => userDay(user)))).values()].map((counter) => counter.spent);
    expect(spent.reduce((sum, value) => sum + value, 0)).toBe(700);
    expect(spent.slice(0, 10)).toEqual(Array.from({ length: 10 }, () => 28));
    await restarted.close();
  });
});
