// The SQLite and memory budget stores under the shared contract, plus a real SIGKILL mid-traffic on SQLite.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createMemoryBudgetStore } from '../src/budgets/memory-store.js';
import { createSqliteBudgetStore } from '../src/budgets/sqlite-store.js';
import { counterKeyFor } from '../src/core/budget-math.js';
import { openDatabase, type SqliteDatabase } from '../src/stores/sqlite/database.js';
import { runBudgetStoreContract } from './budget-store-contract.js';

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
      rmSync(folder, { recursive: true, force: true });
    },
  };
});

const sourceUrl = (path: string) => new URL(path, import.meta.url).href;

describe('SQLite budget store: crash safety', () => {
  it('after SIGKILL mid-traffic, recovery counts every acknowledged in-flight reservation at its worst case', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'covenant-budget-kill-'));
    const path = join(folder, 'covenant.db');
    const counterKey = counterKeyFor('org', 'usd', 'day', '2024-05-01');
    // The child reserves 10 and settles every other reservation at 5, printing each acknowledged step.
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `
      const { openDatabase } = await import(${JSON.stringify(sourceUrl('../src/stores/sqlite/database.ts'))});
      const { createSqliteBudgetStore } = await import(${JSON.stringify(sourceUrl('../src/budgets/sqlite-store.ts'))});
      const store = createSqliteBudgetStore(openDatabase(${JSON.stringify(path)}));
      for (let index = 0; ; index += 1) {
        const id = 'request-' + index;
        await store.tryReserve({ id, createdAt: Date.now(), items: [{ counterKey: ${JSON.stringify(counterKey)}, amount: 10, limit: 1e12 }] });
        process.stdout.write('reserved ' + id + '\\n');
        if (index % 2 === 0) {
          await store.settle(id, { ${JSON.stringify(counterKey)}: 5 });
          process.stdout.write('settled ' + id + '\\n');
        }
        if (index % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    `], { cwd: fileURLToPath(new URL('..', import.meta.url)), stdio: ['ignore', 'pipe', 'inherit'] });
    const reserved = new Set<string>();
    const settled = new Set<string>();
    let buffered = '';
    await new Promise<void>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', () => resolve());
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) {
          const [event, id] = line.split(' ');
          (event === 'reserved' ? reserved : settled).add(id);
        }
        if (reserved.size >= 2000 && child.exitCode === null && !child.killed) child.kill('SIGKILL');
      });
    });
    expect(child.signalCode).toBe('SIGKILL');
    const database = openDatabase(path);
    try {
      const store = createSqliteBudgetStore(database);
      await store.recoverOrphans(Number.MAX_SAFE_INTEGER);
      const counter = (await store.read([counterKey])).get(counterKey);
      const acknowledgedMinimum = [...reserved].reduce((sum, id) => sum + (settled.has(id) ? 5 : 10), 0);
      expect(counter?.reserved).toBe(0);
      expect(counter?.spent ?? 0).toBeGreaterThanOrEqual(acknowledgedMinimum);
      // Nothing is counted that never happened: at most the acknowledged steps plus the few in flight at the kill.
      expect(counter?.spent ?? 0).toBeLessThanOrEqual(acknowledgedMinimum + 10 * 200);
    } finally {
      database.close();
      rmSync(folder, { recursive: true, force: true });
    }
  }, 30_000);
});
