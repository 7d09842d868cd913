// The SQLite and memory budget stores under the shared contract; SQLite's recovery from its counters (also of an older database) and after a real SIGKILL mid-traffic.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createMemoryBudgetStore } from '../src/stores/memory/budget-store.js';
import { budgetMigrations, createSqliteBudgetStore, prefixEnd } from '../src/stores/sqlite/budget-store.js';
import { counterKeyFor } from '../src/core/budget-math.js';
import { migrate, openDatabase, type SqliteDatabase } from '../src/stores/sqlite/database.js';
import { runBudgetStoreContract } from './budget-store-contract.js';
import { temporaryBudgetDatabase } from './helpers/budget-database.js';

runBudgetStoreContract('memory', async () => ({ store: createMemoryBudgetStore(), cleanup: async () => {} }), { durable: false });

runBudgetStoreContract('sqlite', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'covenant-budget-'));
  const path = join(folder, 'covenant.db');
  const databases: SqliteDatabase[] = [openDatabase(path)];
  return {
    store: createSqliteBudgetStore(databases[0]),
    reopen: async () => {
      const database = openDatabase(path);
      databases.push(database);
      return createSqliteBudgetStore(database);
    },
    cleanup: async () => {
      for (const database of databases) database.close();
      rmSync(folder, { recursive: true, force: true, maxRetries: 10, retryDelay: 20 });
    },
  };
});


/** Let the current event-loop turn end (the store writes the turn's journal line at its end). */
const endOfTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('SQLite budget store: what a new end user costs on disk', () => {
  it('indexes a counter row once (by window and scope), and the users\' spend report still reads one range of that index', async () => {
    using files = temporaryBudgetDatabase();
    const database = files.open();
    // A database from before budgets-004 loses its scope index when the store opens it.
    migrate(database, budgetMigrations.slice(0, 3));
    const store = createSqliteBudgetStore(database);
    const userDay = counterKeyFor('user:research/u1', 'usd', 'day', '2024-05-01');
    await store.tryReserve({ id: 'r', createdAt: 1, items: [{ counterKey: userDay, amount: 100, limit: 1000 }] });
    await store.settle('r', [40]);
    expect((await store.spend({ scopePrefix: 'user:research/', windowKeys: ['2024-05-01'] })).map((record) => record.spent)).toEqual([40]);
    const indexes = database.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'budget_counters' AND sql IS NOT NULL").all();
    expect(indexes).toEqual([{ name: 'budget_counters_window_scope' }]);
    // The statement spend() runs for a department's users in the current windows.
    const plan = database.prepare(`EXPLAIN QUERY PLAN SELECT * FROM budget_counters WHERE counter_key <> ? AND scope >= ? AND scope < ?
      AND window_key IN (?, ?) ORDER BY scope, counter_key`).all('in-flight reservations', 'user:research/', 'user:research0', '2024-05-01', '2024-05') as { detail: string }[];
    expect(plan.map((step) => step.detail).join('; ')).toContain('USING INDEX budget_counters_window_scope');
    await store.close();
  });
});

describe('SQLite budget store: window pruning\'s read', () => {
  it('seeks the (window, scope) index per window and reads only closed windows\' rows', async () => {
    using files = temporaryBudgetDatabase();
    const database = files.open();
    const store = createSqliteBudgetStore(database);
    const insert = database.prepare('INSERT INTO budget_counters (counter_key, scope, unit, period, window_key, spent) VALUES (?, ?, \'usd\', \'day\', ?, 5)');
    database.transaction(() => {
      for (let user = 0; user < 20_000; user += 1) insert.run(counterKeyFor(`user:u${user}`, 'usd', 'day', '2024-05-02'), `user:u${user}`, '2024-05-02');
      for (let user = 0; user < 30; user += 1) insert.run(counterKeyFor(`user:u${user}`, 'usd', 'day', '2024-05-01'), `user:u${user}`, '2024-05-01');
    })();
    const steps = (sql: string, ...parameters: unknown[]) => (database.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...parameters) as { detail: string }[]).map((step) => step.detail).join('; ');
    // The statements spend({ closedBefore }) runs: the next window key after one, then a closed window's rows in order.
    expect(steps('SELECT window_key, period FROM budget_counters WHERE window_key > ? ORDER BY window_key LIMIT 1', ''))
      .toBe('SEARCH budget_counters USING INDEX budget_counters_window_scope (window_key>?)');
    expect(steps(`SELECT * FROM budget_counters WHERE window_key = ? AND reserved = 0 AND counter_key <> ? ORDER BY scope, counter_key LIMIT ?`, '2024-05-01', 'x', 10))
      .toBe('SEARCH budget_counters USING INDEX budget_counters_window_scope (window_key=?)');
    const closed = await store.spend({ closedBefore: { cutoff: Date.parse('2024-05-02T12:00:00Z'), timeZone: 'UTC' }, limit: 20 });
    expect(closed.map((record) => record.scope)).toEqual(Array.from({ length: 30 }, (_, user) => `user:u${user}`).sort().slice(0, 20));
    await store.close();
  });
});

describe('SQLite budget store: recovery from the counters', () => {
  const orgDay = counterKeyFor('org', 'usd', 'day', '2024-05-01');
  const keyDay = counterKeyFor('key:bot', 'usd', 'day', '2024-05-01');

  it('keeps a crashed run\'s reservations through a second crash before recovery, and recovers both runs\' at once', async () => {
    using files = temporaryBudgetDatabase();
    // A killed store folds nothing more: no fold timer of theirs fires during the test.
    const killed = { foldIntervalMs: 60_000 };
    const first = createSqliteBudgetStore(files.open(), killed);
    await first.tryReserve({ id: 'a', createdAt: 1, items: [{ counterKey: orgDay, amount: 100, limit: 1000 }, { counterKey: keyDay, amount: 100, limit: 1000 }] });
    await first.tryReserve({ id: 'b', createdAt: 1, items: [{ counterKey: orgDay, amount: 200, limit: 1000 }] });
    // Restarted without recovering, then one more reservation and one settled, then killed again.
    const second = createSqliteBudgetStore(files.open(), killed);
    expect((await second.tryReserve({ id: 'c', createdAt: 2, items: [{ counterKey: orgDay, amount: 300, limit: 1000 }] })).ok).toBe(true);
    // 600 are reserved already: the crashed run's reservations still count against the limit.
    expect((await second.tryReserve({ id: 'd', createdAt: 2, items: [{ counterKey: orgDay, amount: 401, limit: 1000 }] })).ok).toBe(false);
    await second.tryReserve({ id: 'e', createdAt: 2, items: [{ counterKey: keyDay, amount: 50, limit: 1000 }] });
    await second.settle('e', [20]);
    expect((await second.settle('a', [1])).applied).toBe(false);
    await endOfTurn(); // the settle's journal line is written at the end of its turn
    const third = createSqliteBudgetStore(files.open(), killed);
    expect(await third.recoverOrphans(0)).toBe(3);
    expect((await third.read([orgDay, keyDay])).get(orgDay)).toEqual({ counterKey: orgDay, spent: 600, reserved: 0 });
    expect((await third.read([orgDay, keyDay])).get(keyDay)).toEqual({ counterKey: keyDay, spent: 120, reserved: 0 });
    expect(await third.recoverOrphans(Number.MAX_SAFE_INTEGER)).toBe(0);
    const fourth = createSqliteBudgetStore(files.open());
    expect(await fourth.recoverOrphans(Number.MAX_SAFE_INTEGER)).toBe(0);
    expect((await fourth.read([orgDay])).get(orgDay)).toEqual({ counterKey: orgDay, spent: 600, reserved: 0 });
  });

  it('counts a settle at its reservation\'s worst case when the process dies before the end of the settle\'s turn', async () => {
    using files = temporaryBudgetDatabase();
    const first = createSqliteBudgetStore(files.open());
    await first.tryReserve({ id: 'a', createdAt: 1, items: [{ counterKey: keyDay, amount: 50, limit: 1000 }] });
    await first.tryReserve({ id: 'b', createdAt: 1, items: [{ counterKey: keyDay, amount: 50, limit: 1000 }] });
    await first.settle('a', [20]);
    await endOfTurn();
    // Killed right after settling b, in the same turn: its line was never written.
    await first.settle('b', [10]);
    const second = createSqliteBudgetStore(files.open());
    expect(await second.recoverOrphans(0)).toBe(1);
    // a at its bill, b at its worst case: more than the provider billed (30), never less.
    expect((await second.read([keyDay])).get(keyDay)).toEqual({ counterKey: keyDay, spent: 70, reserved: 0 });
  });

  it('recovers the reservation rows a database from before budgets-002 holds, and drops their table', async () => {
    using files = temporaryBudgetDatabase();
    const old = files.open();
    // The first migration only, and what the previous store wrote for two reservations in flight when it was killed.
    migrate(old, budgetMigrations.slice(0, 1));
    const counterRow = old.prepare('INSERT INTO budget_counters (counter_key, scope, unit, period, window_key, spent, reserved) VALUES (?, ?, ?, ?, ?, ?, ?)');
    counterRow.run(orgDay, 'org', 'usd', 'day', '2024-05-01', 40, 350);
    counterRow.run(keyDay, 'key:bot', 'usd', 'day', '2024-05-01', 0, 250);
    const reservationRow = old.prepare('INSERT INTO budget_reservations (id, created_at, items) VALUES (?, ?, ?)');
    reservationRow.run('r1', 1_000, JSON.stringify([[orgDay, 250], [keyDay, 250]]));
    reservationRow.run('r2', 1_000, JSON.stringify([[orgDay, 100]]));
    old.close();
    const store = createSqliteBudgetStore(files.open());
    expect(await store.recoverOrphans(Number.MAX_SAFE_INTEGER)).toBe(2);
    expect((await store.read([orgDay])).get(orgDay)).toEqual({ counterKey: orgDay, spent: 390, reserved: 0 });
    expect((await store.read([keyDay])).get(keyDay)).toEqual({ counterKey: keyDay, spent: 250, reserved: 0 });
    const tables = files.open().prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'budget%' ORDER BY name").all();
    expect(tables).toEqual([{ name: 'budget_counters' }]);
    expect((await store.spend()).map((record) => record.counterKey)).toEqual([keyDay, orgDay]);
  });
});

/** The journal's lines: its text up to the zero bytes an emptied journal holds. */
function journalText(path: string): string {
  const bytes = readFileSync(path);
  const end = bytes.indexOf(0);
  return bytes.subarray(0, end < 0 ? bytes.length : end).toString('utf8');
}

describe('SQLite budget store: the journal', () => {
  const orgDay = counterKeyFor('org', 'usd', 'day', '2024-05-01');
  const keyDay = counterKeyFor('key:bot', 'usd', 'day', '2024-05-01');
  const aliceDay = counterKeyFor('user:claims/Zoë "Z" \\ O\'Brien', 'usd', 'day', '2024-05-01');

  it('keeps acknowledged changes that were never folded into the database, through a restart', async () => {
    using test = temporaryBudgetDatabase();
    const store = createSqliteBudgetStore(test.open(), { foldIntervalMs: 60_000 });
    await store.tryReserve({ id: 'a', createdAt: 1, items: [{ counterKey: orgDay, amount: 100, limit: 1000 }] });
    await store.settle('a', [40]);
    await store.tryReserve({ id: 'b', createdAt: 1, items: [{ counterKey: orgDay, amount: 250, limit: 1000 }, { counterKey: aliceDay, amount: 250, limit: 1000 }] });
    // Only the journal has them: the database was never written.
    expect(test.row(orgDay)).toBeUndefined();
    expect(journalText(test.journal)).not.toBe('');
    // Restarted without a clean close (a SIGKILL): the journal is folded in before anything else.
    const restarted = createSqliteBudgetStore(test.open());
    expect(test.row(orgDay)).toEqual({ spent: 40, reserved: 250 });
    expect(test.row(aliceDay)).toEqual({ spent: 0, reserved: 250 });
    expect(journalText(test.journal)).toBe('');
    expect(await restarted.recoverOrphans(Number.MAX_SAFE_INTEGER)).toBe(1);
    expect((await restarted.read([orgDay])).get(orgDay)).toEqual({ counterKey: orgDay, spent: 290, reserved: 0 });
    expect((await restarted.read([aliceDay])).get(aliceDay)).toEqual({ counterKey: aliceDay, spent: 250, reserved: 0 });
    await restarted.close();
  });

  it('folds every interval, on spend() and on close, and empties the journal each time', async () => {
    using test = temporaryBudgetDatabase();
    const store = createSqliteBudgetStore(test.open(), { foldIntervalMs: 50 });
    await store.tryReserve({ id: 'a', createdAt: 1, items: [{ counterKey: keyDay, amount: 30, limit: 1000 }] });
    expect(journalText(test.journal)).not.toBe('');
    // The fold timer moves the journal into the database on its own; wait for it rather than for a fixed time.
    await expect.poll(() => test.row(keyDay), { timeout: 5000 }).toEqual({ spent: 0, reserved: 30 });
    expect(journalText(test.journal)).toBe('');
    await store.settle('a', [12]);
    expect((await store.spend({ scope: 'key:bot' })).map((record) => [record.spent, record.reserved])).toEqual([[12, 0]]);
    expect(journalText(test.journal)).toBe('');
    await store.tryReserve({ id: 'b', createdAt: 1, items: [{ counterKey: keyDay, amount: 5, limit: 1000 }] });
    await store.release('b');
    await store.close();
    expect(test.row(keyDay)).toEqual({ spent: 12, reserved: 0 });
    expect(journalText(test.journal)).toBe('');
  });

  it('ignores a last line cut short (its change was never acknowledged), and refuses a journal damaged before it', () => {
    using test = temporaryBudgetDatabase();
    createSqliteBudgetStore(test.open());
    writeFileSync(test.journal, `[1,${JSON.stringify(orgDay)},40,250]\n[0,${JSON.stringify(orgDay)},29`);
    createSqliteBudgetStore(test.open());
    expect(test.row(orgDay)).toEqual({ spent: 40, reserved: 250 });
    writeFileSync(test.journal, `[1,${JSON.stringify(orgDay)},40\n[1,${JSON.stringify(orgDay)},50,250]\n`);
    expect(() => createSqliteBudgetStore(test.open())).toThrow(/budget journal .* is damaged at line 1/);
  });

  it('empties the journal by zeroing it: after a fold, a restart replays only the lines written since', async () => {
    using test = temporaryBudgetDatabase();
    const store = createSqliteBudgetStore(test.open(), { foldIntervalMs: 60_000 });
    // A long line: many counters changed in one turn.
    const many = Array.from({ length: 20 }, (_, index) => counterKeyFor(`key:bot-${index}`, 'usd', 'day', '2024-05-01'));
    await store.tryReserve({ id: 'wide', createdAt: 1, items: many.map((counterKey) => ({ counterKey, amount: 7, limit: 1000 })) });
    const before = journalText(test.journal).length;
    await store.spend({ scope: 'org' }); // folds, and empties the journal
    expect(journalText(test.journal)).toBe('');
    expect(readFileSync(test.journal).every((byte) => byte === 0)).toBe(true);
    // A short line where the long one was: what follows it must not be read as lines.
    await store.tryReserve({ id: 'short', createdAt: 1, items: [{ counterKey: orgDay, amount: 9, limit: 1000 }] });
    expect(journalText(test.journal).length).toBeLessThan(before);
    // Killed (no close): the restart folds the short line in and keeps what the fold stored.
    const restarted = createSqliteBudgetStore(test.open());
    expect(test.row(orgDay)).toEqual({ spent: 0, reserved: 9 });
    expect(test.row(many[19]!)).toEqual({ spent: 0, reserved: 7 });
    await restarted.close();
  });

  it('drops a last line cut short at open, so the next lines are not glued to it', async () => {
    using test = temporaryBudgetDatabase();
    await createSqliteBudgetStore(test.open()).close();
    writeFileSync(test.journal, `[0,${JSON.stringify(orgDay)},29`);
    const store = createSqliteBudgetStore(test.open(), { foldIntervalMs: 60_000 });
    await store.tryReserve({ id: 'a', createdAt: 1, items: [{ counterKey: keyDay, amount: 3, limit: 1000 }] });
    // Killed (no close): the journal replays cleanly, with the reservation made after the cut line.
    createSqliteBudgetStore(test.open());
    expect(test.row(keyDay)).toEqual({ spent: 0, reserved: 3 });
    expect(test.row(orgDay)).toBeUndefined();
  });
});

const sourceUrl = (path: string) => new URL(path, import.meta.url).href;

describe('SQLite budget store: crash safety', () => {
  it('after SIGKILL mid-traffic, recovery counts every acknowledged in-flight reservation at its worst case', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'covenant-budget-kill-'));
    const path = join(folder, 'covenant.db');
    const counterKey = counterKeyFor('org', 'usd', 'day', '2024-05-01');
    const log = join(folder, 'acknowledged.log');
    // The child reserves 10 and settles every other reservation at 5, logging each acknowledged step with a write
    // system call (a pipe would not do: when the reader lags, Node queues what the child prints in the child's own
    // memory, and a SIGKILL loses it). It prints its progress so the test knows when to kill it.
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `
      const { openSync, writeSync } = await import('node:fs');
      const { openDatabase } = await import(${JSON.stringify(sourceUrl('../src/stores/sqlite/database.ts'))});
      const { createSqliteBudgetStore } = await import(${JSON.stringify(sourceUrl('../src/stores/sqlite/budget-store.ts'))});
      const store = createSqliteBudgetStore(openDatabase(${JSON.stringify(path)}));
      const log = openSync(${JSON.stringify(log)}, 'a');
      for (let index = 0; ; index += 1) {
        const id = 'request-' + index;
        await store.tryReserve({ id, createdAt: Date.now(), items: [{ counterKey: ${JSON.stringify(counterKey)}, amount: 10, limit: 1e12 }] });
        writeSync(log, 'reserved ' + id + '\\n');
        if (index % 2 === 0) {
          await store.settle(id, [5]);
          writeSync(log, 'settled ' + id + '\\n');
        }
        if (index % 50 === 0) {
          process.stdout.write(index + '\\n');
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
    `], { cwd: fileURLToPath(new URL('..', import.meta.url)), stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', () => resolve());
      child.stdout.on('data', (chunk: Buffer) => {
        const progress = Number(chunk.toString().trim().split('\n').at(-1));
        if (progress >= 2000 && child.exitCode === null && !child.killed) child.kill('SIGKILL');
      });
    });
    const reserved = new Set<string>();
    const settled = new Set<string>();
    for (const line of readFileSync(log, 'utf8').split('\n')) {
      const [event, id] = line.split(' ');
      if (event === 'reserved') reserved.add(id);
      else if (event === 'settled') settled.add(id);
    }
    expect(reserved.size).toBeGreaterThanOrEqual(2000);
    expect(child.signalCode).toBe('SIGKILL');
    const database = openDatabase(path);
    try {
      const store = createSqliteBudgetStore(database);
      const recovered = await store.recoverOrphans(Number.MAX_SAFE_INTEGER);
      const counter = (await store.read([counterKey])).get(counterKey);
      // The child is sequential, so only its last reservation can be ambiguous: the kill may land after its settle
      // was journaled and before "settled" was logged. Its spend is then the 5 it settled at, the bill: not an under-count.
      const last = [...reserved].at(-1) as string;
      const mayBeSettled = (id: string) => settled.has(id) || (id === last && Number(id.slice('request-'.length)) % 2 === 0);
      const acknowledgedMinimum = [...reserved].reduce((sum, id) => sum + (mayBeSettled(id) ? 5 : 10), 0);
      // Every reservation never settled is recovered: give or take the last one's settle and one reserve not yet logged.
      const inFlight = [...reserved].filter((id) => !settled.has(id)).length;
      expect(recovered).toBeGreaterThanOrEqual(inFlight - 1);
      expect(recovered).toBeLessThanOrEqual(inFlight + 1);
      expect(counter?.reserved).toBe(0);
      expect(counter?.spent ?? 0).toBeGreaterThanOrEqual(acknowledgedMinimum);
      // Nothing is counted that never happened: at most the logged steps, the last one's settle at its worst case, and
      // one reservation journaled but not yet logged.
      expect(counter?.spent ?? 0).toBeLessThanOrEqual(acknowledgedMinimum + 5 + 10);
    } finally {
      database.close();
      rmSync(folder, { recursive: true, force: true });
    }
  }, 30_000);
});

describe('prefixEnd', () => {
  it('is above every text with the prefix and below every text after them', () => {
    expect(prefixEnd('user:claims/')).toBe('user:claims0');
    expect(prefixEnd('a\u{10FFFF}')).toBeUndefined();
    expect(prefixEnd('x\uD7FF')).toBe('x\uE000');
    expect(prefixEnd('x\u{1F600}')).toBe('x\u{1F601}');
  });
});
