// Counters of budget windows that are over go once their final spend is on the ledger; open and `total` ones stay.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BudgetStore, CounterRecord } from '../src/budgets/store.js';
import { pruneClosedWindows, windowEndedBefore } from '../src/budgets/window-pruning.js';
import { counterKeyFor } from '../src/core/budget-math.js';
import { startApp } from '../src/gateway/app.js';
import { createSqliteBudgetStore } from '../src/stores/sqlite/budget-store.js';
import { openDatabase, type SqliteDatabase } from '../src/stores/sqlite/database.js';

const hour = 3_600_000;
const folders: string[] = [];
const databases: SqliteDatabase[] = [];
afterEach(() => {
  for (const database of databases.splice(0)) database.close();
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

function temporaryStore(): { path: string; store: BudgetStore } {
  const folder = mkdtempSync(join(tmpdir(), 'covenant-pruning-'));
  folders.push(folder);
  const path = join(folder, 'covenant.db');
  const database = openDatabase(path);
  databases.push(database);
  return { path, store: createSqliteBudgetStore(database) };
}

let sequence = 0;
async function spend(store: BudgetStore, counterKey: string, amount: number): Promise<void> {
  const id = `request-${(sequence += 1)}`;
  await store.tryReserve({ id, createdAt: 0, items: [{ counterKey, amount, limit: 1_000_000 }] });
  await store.settle(id, [amount]);
}

describe('windowEndedBefore', () => {
  it('ends day, week and month windows at their boundary in the org time zone, and never ends total', () => {
    const midnightParis = Date.parse('2026-03-10T23:00:00Z');
    expect(windowEndedBefore('day', '2026-03-10', midnightParis, 'Europe/Paris')).toBe(true);
    expect(windowEndedBefore('day', '2026-03-10', midnightParis - 1, 'Europe/Paris')).toBe(false);
    expect(windowEndedBefore('day', '2026-03-10', midnightParis, 'UTC')).toBe(false);
    expect(windowEndedBefore('week', '2026-W10', Date.parse('2026-03-09T00:00:00Z'), 'UTC')).toBe(true);
    expect(windowEndedBefore('week', '2026-W11', Date.parse('2026-03-09T00:00:00Z'), 'UTC')).toBe(false);
    expect(windowEndedBefore('week', '2025-W52', Date.parse('2026-01-01T00:00:00Z'), 'UTC')).toBe(true);
    expect(windowEndedBefore('month', '2025-12', Date.parse('2026-01-01T00:00:00Z'), 'UTC')).toBe(true);
    expect(windowEndedBefore('month', '2026-01', Date.parse('2026-01-31T23:59:59Z'), 'UTC')).toBe(false);
    expect(windowEndedBefore('total', 'total', Number.MAX_SAFE_INTEGER, 'UTC')).toBe(false);
  });

  it('orders the hour repeated when daylight saving time ends by its instant, not its text', () => {
    // Berlin, 2026-10-25: 02:00 happens at 00:00Z (+02:00) and again at 01:00Z (+01:00).
    const first = '2026-10-25T02:00+02:00';
    const second = '2026-10-25T02:00+01:00';
    expect(windowEndedBefore('hour', first, Date.parse('2026-10-25T00:30:00Z'), 'Europe/Berlin')).toBe(false);
    expect(windowEndedBefore('hour', second, Date.parse('2026-10-25T01:00:00Z'), 'Europe/Berlin')).toBe(false);
    expect(windowEndedBefore('hour', first, Date.parse('2026-10-25T01:00:00Z'), 'Europe/Berlin')).toBe(true);
    expect(windowEndedBefore('hour', second, Date.parse('2026-10-25T02:00:00Z'), 'Europe/Berlin')).toBe(true);
  });
});

describe('pruneClosedWindows', () => {
  const now = Date.parse('2026-12-06T12:00:00Z');
  const yesterday = counterKeyFor('org', 'usd', 'day', '2026-12-05');
  const today = counterKeyFor('org', 'usd', 'day', '2026-12-06');
  const lastHour = counterKeyFor('department:claims', 'usd', 'hour', '2026-12-06T11:00+00:00');
  const total = counterKeyFor('org', 'usd', 'total', 'total');
  const lastMonth = counterKeyFor('user:claims/alice', 'tokens', 'month', '2026-11');

  it('reports, then deletes, the counters of windows over for longer than the grace; keeps the rest', async () => {
    const { store } = temporaryStore();
    for (const key of [yesterday, today, lastHour, total, lastMonth]) await spend(store, key, 120);
    const reported: CounterRecord[] = [];
    const pruned = await pruneClosedWindows({
      store, now, graceMs: 30 * 60_000, timeZone: 'UTC',
      report: async (counters) => {
        // Reported while they are still in the store.
        expect((await store.read(counters.map((counter) => counter.counterKey))).size).toBe(counters.length);
        reported.push(...counters);
      },
    });
    expect(pruned).toBe(2);
    expect(reported.map((counter) => [counter.counterKey, counter.spent])).toEqual([[lastMonth, 120], [yesterday, 120]]);
    expect((await store.spend()).map((counter) => counter.counterKey).sort()).toEqual([lastHour, today, total].sort());
    // The hour that ended at 12:00 goes only once the longest request since then is over.
    expect(await pruneClosedWindows({ store, now: now + 30 * 60_000, graceMs: 30 * 60_000, timeZone: 'UTC' })).toBe(1);
    expect((await store.spend()).map((counter) => counter.counterKey).sort()).toEqual([today, total].sort());
  });

  it('keeps a window with an open reservation, and every counter when the report fails', async () => {
    const { store } = temporaryStore();
    await spend(store, yesterday, 50);
    await store.tryReserve({ id: 'open', createdAt: 0, items: [{ counterKey: lastMonth, amount: 10, limit: 100 }] });
    await expect(pruneClosedWindows({ store, now, graceMs: 0, timeZone: 'UTC', report: () => Promise.reject(new Error('ledger down')) }))
      .rejects.toThrow('ledger down');
    expect((await store.spend()).length).toBe(2);
    expect(await pruneClosedWindows({ store, now, graceMs: 0, timeZone: 'UTC' })).toBe(1);
    expect((await store.spend()).map((counter) => counter.counterKey)).toEqual([lastMonth]);
  });
});

describe('the gateway', () => {
  it('prunes past windows left in its database when it starts, each on the ledger as budget.window_closed', async () => {
    const { path, store } = temporaryStore();
    const old = counterKeyFor('department:claims', 'usd', 'day', '2024-05-01');
    const total = counterKeyFor('org', 'usd', 'total', 'total');
    await spend(store, old, 4_200);
    await spend(store, total, 4_200);
    await store.close();
    databases.pop()?.close();
    const configFile = join(folders[0], 'covenant.yaml');
    writeFileSync(configFile, `store: sqlite:${path}
providers: [ { name: mock, type: mock } ]
models: [ { alias: demo, provider: mock, version: mock-1 } ]
org: { name: acme, departments: [ { name: claims } ] }
`);
    const app = await startApp({ configFile, host: '127.0.0.1', port: 0 });
    try {
      const entries = await app.stores.ledger.entries({ kind: 'budget.window_closed' });
      expect(entries.map((stored) => stored.entry)).toEqual([expect.objectContaining({
        kind: 'budget.window_closed', department: 'claims', scope: 'department:claims',
        budget: { unit: 'usd', period: 'day', window: '2024-05-01' }, spent: 4_200,
      })]);
      expect((await app.stores.budgets.spend()).map((counter) => counter.counterKey)).toEqual([total]);
    } finally {
      await app.close();
    }
  });
});
