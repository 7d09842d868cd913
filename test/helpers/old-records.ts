// Key stores over the records schema an older version left (its migrations up to one, and a key it wrote): the upgrade tests' fixture on SQLite and PostgreSQL.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KeyStore } from '../../src/stores/records.js';
import { openDatabase } from '../../src/stores/sqlite/database.js';
import { SqliteKeyStore } from '../../src/stores/sqlite/records.js';
import { createPostgresStores } from '../../src/stores/postgres/index.js';
import { migratePostgres, openPostgres } from '../../src/stores/postgres/database.js';
import { recordMigrations } from '../../src/stores/postgres/records.js';
import { createTestSchema } from './services.js';

/** The key an older version wrote: id `key_old`, department `claims`, no models, no budgets. */
const insertOld = "INSERT INTO api_keys (id, department, name, budgets, source, secret_hash, created_at) VALUES ('key_old', 'claims', 'old', '[]', 'api', 'h', '2025-01-01T00:00:00.000Z')";

/** A records schema before `firstMissing` (a migration id): the migrations it had applied, the api_keys columns it had. */
export type OldRecords = 'records-004' | 'records-005';
const sqliteSchemas: Record<OldRecords, { applied: string[]; columns: string }> = {
  'records-004': { applied: ['records-001', 'records-002-requests-from-ledger', 'records-003-key-policy'], columns: '' },
  'records-005': {
    applied: ['records-001', 'records-002-requests-from-ledger', 'records-003-key-policy', 'records-004-key-revision'],
    columns: ', revision INTEGER NOT NULL DEFAULT 1',
  },
};

/** Run `check` on a SQLite key store opened over the records schema as it was before `firstMissing`, holding `key_old`. */
export async function checkOldSqliteKeys(firstMissing: OldRecords, check: (keys: KeyStore) => Promise<void>): Promise<void> {
  const directory = mkdtempSync(join(tmpdir(), 'covenant-old-records-'));
  try {
    const database = openDatabase(join(directory, 'covenant.db'));
    try {
      const schema = sqliteSchemas[firstMissing];
      database.exec(`CREATE TABLE api_keys (id TEXT PRIMARY KEY, department TEXT NOT NULL, name TEXT NOT NULL, models TEXT, budgets TEXT NOT NULL DEFAULT '[]',
        source TEXT NOT NULL, secret_hash TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL, revoked_at TEXT, policy TEXT${schema.columns})`);
      for (const id of schema.applied) database.prepare('INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)').run(id, '2025-01-01T00:00:00.000Z');
      database.exec(insertOld);
      await check(new SqliteKeyStore(database));
    } finally {
      database.close();
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/**
 * Run `check` on PostgreSQL stores opened over a schema migrated only up to `firstMissing` (later migrations add
 * columns the old key's insert does not name), holding `key_old`.
 */
export async function checkOldPostgresKeys(firstMissing: OldRecords, check: (keys: KeyStore) => Promise<void>): Promise<void> {
  const schema = createTestSchema();
  try {
    const database = await openPostgres({ url: schema.url, schema: schema.schema, max: 1 });
    await migratePostgres(database, recordMigrations.filter((migration) => migration.id < firstMissing));
    await database.pool.query(insertOld);
    await database.close();
    const stores = await createPostgresStores({ url: schema.url, schema: schema.schema, max: 2 });
    try {
      await check(stores.keys);
    } finally {
      await stores.close();
    }
  } finally {
    await schema.drop();
  }
}
