// The SQLite budget store's fold thread: a fold that fails loses nothing, spend() during a fold sees everything settled
// before it, and a SIGKILL while the thread writes never under-counts.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { counterKeyFor } from '../src/core/budget-math.js';
import { readJournal } from '../src/stores/sqlite/budget-journal.js';
import { createSqliteBudgetStore } from '../src/stores/sqlite/budget-store.js';
import { temporaryBudgetDatabase } from './helpers/budget-database.js';


const orgDay = counterKeyFor('org', 'usd', 'day', '2024-05-01');
const userDay = (user: number) => counterKeyFor(`user:claims/u${user}`, 'usd', 'day', '2024-05-01');

describe('SQLite budget store: the fold thread', () => {
  it('keeps every change of a fold whose write fails, reports it, and writes it with a later fold', async () => {
    using test = temporaryBudgetDatabase();
    const database = test.open();
    const errors: unknown[] = [];
    const store = createSqliteBudgetStore(database, { foldIntervalMs: 20, onError: (error) => errors.push(error) });
    await store.tryReserve({ id: 'a', createdAt: 1, items: [{ counterKey: orgDay, amount: 100, limit: 1000 }] });
    await store.settle('a', [40]);
    await expect.poll(() => test.row(orgDay), { timeout: 5000 }).toEqual({ spent: 40, reserved: 0 });
    // The thread's writes fail from now on (as on a disk that fails them), the event loop's do not.
    database.exec(`CREATE TRIGGER refuse BEFORE UPDATE ON budget_counters WHEN NEW.spent = 70
      BEGIN SELECT RAISE(ABORT, 'the disk refused the write'); END`);
    await store.tryReserve({ id: 'b', createdAt: 1, items: [{ counterKey: orgDay, amount: 100, limit: 1000 }, { counterKey: userDay(1), amount: 100, limit: 1000 }] });
    await store.settle('b', [30, 30]);
    await expect.poll(() => errors.length, { timeout: 5000 }).toBeGreaterThan(0);
    expect(String(errors[0])).toMatch(/the disk refused the write/);
    await expect(store.spend({ scope: 'org' })).rejects.toThrow(/the disk refused the write/);
    expect(test.row(orgDay)).toEqual({ spent: 40, reserved: 0 });
    // Memory still counts the settle, so the limit binds on it.
    expect((await store.tryReserve({ id: 'over', createdAt: 1, items: [{ counterKey: orgDay, amount: 931, limit: 1000 }] })).ok).toBe(false);
    // What a restart after a SIGKILL now would replay: the journal holds what the database lacks.
    const journal = readJournal(test.journal);
    expect(journal?.counters.get(orgDay)).toEqual({ spent: 70, reserved: 0 });
    expect(journal?.counters.get(userDay(1))).toEqual({ spent: 30, reserved: 0 });
    // And without a kill: once writes work again, a later fold stores the failed one's counters.
    database.exec('DROP TRIGGER refuse');
    await expect.poll(() => test.row(userDay(1)), { timeout: 5000 }).toEqual({ spent: 30, reserved: 0 });
    expect((await store.spend({ scope: 'org' })).map((record) => record.spent)).toEqual([70]);
    await store.close();
  });

  it('answers spend() asked during a fold with everything settled before it was asked', async () => {
    using test = temporaryBudgetDatabase();
    const store = createSqliteBudgetStore(test.open(), { foldIntervalMs: 60_000 });
    const users = 3000;
    const request = async (user: number, id: string, spent: number) => {
      await store.tryReserve({ id, createdAt: 1, items: [{ counterKey: orgDay, amount: 10, limit: 1e9 }, { counterKey: userDay(user), amount: 10, limit: 1e9 }] });
      await store.settle(id, [spent, spent]);
    };
    await Promise.all(Array.from({ length: users }, (_, user) => request(user, `first-${user}`, 3)));
    // The first report starts a fold of 3,001 counters; while the thread writes it, more is settled and reported.
    const first = store.spend({ scopePrefix: 'user:claims/' });
    await request(0, 'second', 4);
    await request(users, 'third', 5);
    const second = store.spend({ scopePrefix: 'user:claims/' });
    const [before, after] = await Promise.all([first, second]);
    expect(before).toHaveLength(users);
    expect(before.reduce((sum, record) => sum + record.spent, 0)).toBe(3 * users);
    expect(after).toHaveLength(users + 1);
    expect(after.reduce((sum, record) => sum + record.spent, 0)).toBe(3 * users + 4 + 5);
    expect((await store.spend({ scope: 'org' }))[0]?.spent).toBe(3 * users + 4 + 5);
    await store.close();
  });

  it('after SIGKILL while the thread folds, recovery counts every counter\'s acknowledged spend at least', async () => {
    using test = temporaryBudgetDatabase();
    const log = join(test.folder, 'acknowledged.log');
    const source = (path: string) => JSON.stringify(new URL(path, import.meta.url).href);
    // Every request reserves 10 on the org and on one of 2,000 users, and settles at 5; folds run back to back (every
    // millisecond, each of up to 2,000 counters), so the thread is writing most of the time when the kill comes.
    // A worker thread given the process's V8 flags refuses to start: the store's threads must not inherit them.
    const child = spawn(process.execPath, ['--max-semi-space-size=32', '--import', 'tsx', '--input-type=module', '-e', `
      const { openSync, writeSync } = await import('node:fs');
      const { openDatabase } = await import(${source('../src/stores/sqlite/database.ts')});
      const { createSqliteBudgetStore } = await import(${source('../src/stores/sqlite/budget-store.ts')});
      const { counterKeyFor } = await import(${source('../src/core/budget-math.ts')});
      const store = createSqliteBudgetStore(openDatabase(${JSON.stringify(test.path)}), { foldIntervalMs: 1 });
      const log = openSync(${JSON.stringify(log)}, 'a');
      const org = counterKeyFor('org', 'usd', 'day', '2024-05-01');
      let index = 0;
      const loop = async () => {
        for (;;) {
          const id = 'request-' + (index += 1);
          const user = counterKeyFor('user:claims/u' + (index % 2000), 'usd', 'day', '2024-05-01');
          await store.tryReserve({ id, createdAt: Date.now(), items: [{ counterKey: org, amount: 10, limit: 1e12 }, { counterKey: user, amount: 10, limit: 1e12 }] });
          await store.settle(id, [5, 5]);
          // Logged once the settle's line is written (the end of its turn): only then is its 5 acknowledged on disk.
          await new Promise((resolve) => setImmediate(resolve));
          writeSync(log, user + '\\n');
          if (index % 500 === 0) process.stdout.write(index + '\\n');
        }
      };
      await Promise.all(Array.from({ length: 8 }, loop));
    `], { cwd: fileURLToPath(new URL('..', import.meta.url)), stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', () => resolve());
      child.stdout.on('data', (chunk: Buffer) => {
        const progress = Number(chunk.toString().trim().split('\n').at(-1));
        if (progress >= 10_000 && child.exitCode === null && !child.killed) child.kill('SIGKILL');
      });
    });
    expect(child.signalCode).toBe('SIGKILL');
    const settled = new Map<string, number>();
    for (const key of readFileSync(log, 'utf8').split('\n')) if (key !== '') settled.set(key, (settled.get(key) ?? 0) + 1);
    const total = [...settled.values()].reduce((sum, count) => sum + count, 0);
    expect(total).toBeGreaterThanOrEqual(7_000);
    // The fold thread had been writing: the database holds the org's row before any replay.
    expect(test.row(orgDay)).toMatchObject({ spent: expect.any(Number) });
    const store = createSqliteBudgetStore(test.open());
    await store.recoverOrphans(Number.MAX_SAFE_INTEGER);
    const counters = await store.read([orgDay, ...settled.keys()]);
    // Each logged request counts 5 at least; unlogged ones count at most their worst case (8 loops: 8 in flight).
    expect(counters.get(orgDay)?.spent).toBeGreaterThanOrEqual(5 * total);
    expect(counters.get(orgDay)?.spent).toBeLessThanOrEqual(5 * total + 10 * 8 * 2);
    for (const [key, count] of settled) expect(counters.get(key)?.spent, key).toBeGreaterThanOrEqual(5 * count);
    await store.close();
  }, 60_000);

  it('closes in a process with nothing else running, started with a V8 flag: close() returns and the fold is in the database', async () => {
    using test = temporaryBudgetDatabase();
    const source = (path: string) => JSON.stringify(new URL(path, import.meta.url).href);
    // A worker thread given the process's V8 flags refuses to start: the store's threads must not inherit them.
    const child = spawn(process.execPath, ['--max-semi-space-size=32', '--import', 'tsx', '--input-type=module', '-e', `
      const { openDatabase } = await import(${source('../src/stores/sqlite/database.ts')});
      const { createSqliteBudgetStore } = await import(${source('../src/stores/sqlite/budget-store.ts')});
      const { counterKeyFor } = await import(${source('../src/core/budget-math.ts')});
      const database = openDatabase(${JSON.stringify(test.path)});
      const store = createSqliteBudgetStore(database);
      const key = counterKeyFor('org', 'usd', 'day', '2024-05-01');
      await store.tryReserve({ id: 'r1', createdAt: 0, items: [{ counterKey: key, amount: 10, limit: 100 }] });
      await store.settle('r1', [7]);
      await store.close();
      database.close();
      console.log('closed');
    `], { cwd: fileURLToPath(new URL('..', import.meta.url)), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => { output += chunk; });
    child.stderr.on('data', (chunk) => { output += chunk; });
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect({ code, output: output.trim() }).toEqual({ code: 0, output: 'closed' });
    expect(test.row(counterKeyFor('org', 'usd', 'day', '2024-05-01'))).toEqual({ spent: 7, reserved: 0 });
  }, 30_000);
});
