// The alert store contract on SQLite and PostgreSQL, and the migration that adds kinds and delivery status to old rows.
import { describe, expect, it } from 'vitest';
import { createPostgresAlertStore } from '../src/stores/postgres/alert-store.js';
import { openPostgres, type PostgresDatabase } from '../src/stores/postgres/database.js';
import { alertMigrations, createSqliteAlertStore } from '../src/stores/sqlite/alert-store.js';
import { migrate, openDatabase, type SqliteDatabase } from '../src/stores/sqlite/database.js';
import { alertStoreContract } from './alert-store-contract.js';
import { createTestSchema, type TestSchema } from './helpers/services.js';

let sqlite: SqliteDatabase | undefined;
alertStoreContract('sqlite', {
  async open() {
    sqlite = openDatabase(':memory:');
    const database = sqlite;
    return { store: createSqliteAlertStore(database), close: async () => database.close() };
  },
  async openSecond() {
    return createSqliteAlertStore(sqlite as SqliteDatabase);
  },
});

let postgres: { schema: TestSchema; databases: PostgresDatabase[] } | undefined;
alertStoreContract('postgresql', {
  async open() {
    const schema = createTestSchema();
    const database = await openPostgres({ url: schema.url, schema: schema.schema });
    const current = { schema, databases: [database] };
    postgres = current;
    return {
      store: await createPostgresAlertStore(database),
      close: async () => {
        for (const each of current.databases) await each.close();
        await schema.drop();
      },
    };
  },
  async openSecond() {
    const current = postgres as { schema: TestSchema; databases: PostgresDatabase[] };
    const database = await openPostgres({ url: current.schema.url, schema: current.schema.schema });
    current.databases.push(database);
    return createPostgresAlertStore(database);
  },
});

describe('alert store migration (sqlite)', () => {
  it('keeps alerts recorded before kinds, as threshold alerts with a delivery status', () => {
    const database = openDatabase(':memory:');
    try {
      migrate(database, alertMigrations.slice(0, 1));
      const insert = database.prepare(`INSERT INTO budget_alerts (counter_key, scope, unit, period, window_key, threshold, spent,
        budget_limit, period_start, period_end, time, webhook, attempts, delivered_at, last_error) VALUES (?, 'org', 'usd', 'day', 'w', ?, 1, 2, 0, 1, 0, ?, ?, ?, ?)`);
      insert.run('a', 0.5, 'http://hook', 1, 10, null);
      insert.run('b', 0.5, 'http://hook', 5, null, 'HTTP 500');
      insert.run('c', 0.5, null, 0, null, null);
      createSqliteAlertStore(database);
      const rows = database.prepare('SELECT counter_key, kind, status FROM budget_alerts ORDER BY counter_key').all();
      expect(rows).toEqual([
        { counter_key: 'a', kind: 'threshold', status: 'delivered' },
        { counter_key: 'b', kind: 'threshold', status: 'failed' },
        { counter_key: 'c', kind: 'threshold', status: 'none' },
      ]);
    } finally {
      database.close();
    }
  });
});
