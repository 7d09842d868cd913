// The budget counters' own database file: answers are not held up while it is written, and a database from before the split keeps its spend.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { counterKeyFor } from '../src/core/budget-math.js';
import { budgetDatabasePathOf } from '../src/stores/sqlite/budget-database.js';
import { budgetMigrations, inFlightCountKey } from '../src/stores/sqlite/budget-store.js';
import { migrate, openDatabase } from '../src/stores/sqlite/database.js';
import { openSqliteStores } from '../src/stores/sqlite/index.js';
import { startTestGateway } from './helpers/gateway.js';

const config = `
store: sqlite:{{DB}}
providers: [ { name: mock, type: mock } ]
models: [ { alias: demo, provider: mock, version: mock-gpt-1, price: { input_per_mtok: 1, output_per_mtok: 2 } } ]
org:
  name: acme
  budgets: [ { usd: 100, period: month } ]
  departments:
    - name: research
      budgets: [ { usd: 5, period: day } ]
      keys: [ { name: app, key_env: APP_KEY } ]
`;

describe('the budget counters\' database file', () => {
  it('answers requests (their ledger entries committed) while another writer holds the counters\' file', async () => {
    const gateway = await startTestGateway(config, { APP_KEY: 'sk-app-budget-file' });
    const blocker = openDatabase(budgetDatabasePathOf(join(gateway.directory, 'covenant.db')));
    try {
      blocker.exec('BEGIN IMMEDIATE');
      const ask = async () => fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: 'Bearer sk-app-budget-file', 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'demo', messages: [{ role: 'user', content: 'hello' }], max_tokens: 8 }),
      });
      const answers = await Promise.all([ask(), ask(), ask()]);
      // An answer goes out only once its ledger entry is committed (to the main file): all while the counters' file stayed locked.
      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
      expect(blocker.inTransaction).toBe(true);
      blocker.exec('ROLLBACK');
      // Closing folds every counter in: that file is where they are.
      await gateway.close();
      const spent = blocker.prepare("SELECT scope, spent > 0 AS spent FROM budget_counters WHERE scope IN ('org', 'department:research') ORDER BY scope").all();
      expect(spent).toEqual([{ scope: 'department:research', spent: 1 }, { scope: 'org', spent: 1 }]);
    } finally {
      if (blocker.inTransaction) blocker.exec('ROLLBACK');
      blocker.close();
      rmSync(gateway.directory, { recursive: true, force: true, maxRetries: 10, retryDelay: 20 });
    }
  });

  it('moves the counters a database from before the split holds into their own file, once, keeping every amount', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'covenant-budget-file-'));
    const path = join(folder, 'covenant.db');
    try {
      // As an older version left it: the counters (and a crashed run's reservations, before budgets-002) in the main file.
      const old = openDatabase(path);
      migrate(old, budgetMigrations.slice(0, 1));
      const orgDay = counterKeyFor('org', 'usd', 'day', '2024-05-01');
      const userMonth = counterKeyFor('user:research/u1', 'tokens', 'month', '2024-05');
      const row = old.prepare('INSERT INTO budget_counters (counter_key, scope, unit, period, window_key, spent, reserved) VALUES (?, ?, ?, ?, ?, ?, ?)');
      row.run(orgDay, 'org', 'usd', 'day', '2024-05-01', 40, 250);
      row.run(userMonth, 'user:research/u1', 'tokens', 'month', '2024-05', 900, 0);
      old.prepare('INSERT INTO budget_reservations (id, created_at, items) VALUES (?, ?, ?)').run('r1', 1_000, JSON.stringify([[orgDay, 250]]));
      old.close();
      expect(existsSync(budgetDatabasePathOf(path))).toBe(false);

      for (const start of ['first', 'second']) {
        const stores = openSqliteStores({ path, origin: 'covenant.test/ledger', onError: (error) => { throw error; } });
        try {
          if (start === 'first') expect(await stores.budgets.recoverOrphans(Number.MAX_SAFE_INTEGER)).toBe(1);
          const read = await stores.budgets.read([orgDay, userMonth]);
          expect(read.get(orgDay)).toEqual({ counterKey: orgDay, spent: 290, reserved: 0 });
          expect(read.get(userMonth)).toEqual({ counterKey: userMonth, spent: 900, reserved: 0 });
        } finally {
          await stores.close();
        }
      }
      const main = openDatabase(path);
      const counters = openDatabase(budgetDatabasePathOf(path));
      try {
        expect(main.prepare("SELECT name FROM sqlite_master WHERE name LIKE 'budget_counters%' OR name = 'budget_reservations'").all()).toEqual([]);
        expect(counters.prepare('SELECT counter_key, spent, reserved FROM budget_counters WHERE counter_key <> ? ORDER BY counter_key').all(inFlightCountKey))
          .toEqual([{ counter_key: orgDay, spent: 290, reserved: 0 }, { counter_key: userMonth, spent: 900, reserved: 0 }]);
      } finally {
        main.close();
        counters.close();
      }
    } finally {
      rmSync(folder, { recursive: true, force: true, maxRetries: 10, retryDelay: 20 });
    }
  });
});
