// PostgreSQL implementations of the key store and the request log (a newest-first view of the ledger's inference entries).
import type pg from 'pg';
import {
  changedKeysFromRows, keyFromRow, keysFromRows, recentInferenceSql, requestFromEntryJson,
  type ChangedKeyRow, type ChangedKeys, type KeyChanges, type KeyRecord, type KeyRevisionConflict, type KeyRow, type KeyStore, type NewKey, type RequestLog, type RequestRecord,
} from '../records.js';
import { inTransaction, migratePostgres, type PostgresDatabase, type PostgresMigration } from './database.js';

// Times are stored as the ISO 8601 text the caller gave, as in SQLite, so both stores return identical records.
export const recordMigrations: readonly PostgresMigration[] = [
  {
    id: 'records-001',
    sql: `
      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        department TEXT NOT NULL,
        name TEXT NOT NULL,
        models JSONB,
        budgets JSONB NOT NULL DEFAULT '[]',
        source TEXT NOT NULL,
        secret_hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        revoked_at TEXT
      );
      CREATE TABLE requests (
        position BIGSERIAL PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        time TEXT NOT NULL,
        key_id TEXT, key_name TEXT, department TEXT, end_user TEXT,
        route TEXT NOT NULL, alias TEXT, provider TEXT, upstream_model TEXT,
        stream BOOLEAN NOT NULL, status INTEGER NOT NULL, error_code TEXT,
        input_tokens BIGINT NOT NULL, output_tokens BIGINT NOT NULL,
        cached_input_tokens BIGINT NOT NULL, reasoning_tokens BIGINT NOT NULL,
        cost_micros BIGINT NOT NULL, latency_ms DOUBLE PRECISION NOT NULL, max_tokens BIGINT
      );
      CREATE INDEX requests_time ON requests (time, position);
      CREATE INDEX requests_department_time ON requests (department, time, position);
    `,
  },
  {
    // The request log is read from the ledger's inference entries, which hold the same fields.
    id: 'records-002-requests-from-ledger',
    sql: 'DROP TABLE IF EXISTS requests;',
  },
  {
    // The guards and routing of keys made by the admin API; existing keys have none.
    id: 'records-003-key-policy',
    sql: 'ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS policy JSONB;',
  },
  {
    // Each key's revision (its ETag for If-Match edits); existing keys start at 1. INTEGER, so pg returns a number.
    id: 'records-004-key-revision',
    sql: 'ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS revision INTEGER NOT NULL DEFAULT 1;',
  },
  {
    // The store-wide change counter every key write moves, and each key's last stamp, so replicas read only what
    // changed; existing keys get 1, above the 0 a first read starts after. No default after that: a write that
    // forgot its stamp fails instead of hiding from every other replica.
    id: 'records-005-key-change-sequence',
    sql: `
      CREATE TABLE IF NOT EXISTS api_key_changes (id INTEGER PRIMARY KEY CHECK (id = 1), sequence BIGINT NOT NULL);
      INSERT INTO api_key_changes (id, sequence) VALUES (1, 1) ON CONFLICT (id) DO NOTHING;
      ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS change_sequence BIGINT NOT NULL DEFAULT 1;
      ALTER TABLE api_keys ALTER COLUMN change_sequence DROP DEFAULT;
      CREATE INDEX IF NOT EXISTS api_keys_change_sequence ON api_keys (change_sequence);
    `,
  },
  {
    // Replicas still on the code before change sequences (a rolling upgrade) write keys without a stamp: an insert
    // leaves it null, a revocation or edit leaves it as it was, and the others would never read that change (a key
    // revoked there would keep working on them). This trigger stamps such a row from the same counter, taken the same
    // way (its row locked to the commit). A write of this code stamps the row itself and passes through untouched, as
    // does an update that changes nothing.
    id: 'records-006-stamp-unstamped-key-writes',
    sql: `
      CREATE OR REPLACE FUNCTION api_keys_stamp_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'INSERT' AND NEW.change_sequence IS NOT NULL THEN RETURN NEW; END IF;
        IF TG_OP = 'UPDATE' AND (NEW.change_sequence IS DISTINCT FROM OLD.change_sequence OR NEW IS NOT DISTINCT FROM OLD) THEN RETURN NEW; END IF;
        UPDATE api_key_changes SET sequence = sequence + 1 WHERE id = 1 RETURNING sequence INTO NEW.change_sequence;
        RETURN NEW;
      END $$;
      DROP TRIGGER IF EXISTS api_keys_stamp_change ON api_keys;
      CREATE TRIGGER api_keys_stamp_change BEFORE INSERT OR UPDATE ON api_keys FOR EACH ROW EXECUTE FUNCTION api_keys_stamp_change();
    `,
  },
];

export function migrateRecords(database: PostgresDatabase): Promise<string[]> {
  return migratePostgres(database, recordMigrations);
}


const insertKeySql =
  'INSERT INTO api_keys (id, department, name, models, budgets, policy, source, secret_hash, created_at, change_sequence) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)';

function keyParameters(key: NewKey, source: 'config' | 'api', sequence: number): unknown[] {
  return [
    key.id, key.department, key.name, key.models === null ? null : JSON.stringify(key.models), JSON.stringify(key.budgets),
    key.policy == null ? null : JSON.stringify(key.policy), source, key.secretHash, key.createdAt, sequence,
  ];
}

/**
 * Runs `write` in one transaction with the next change sequence. Taking it locks the counter's row until the commit,
 * so a write that takes a later number waits for this one to commit: stamps become visible in the order taken.
 */
function stamped<T>(database: PostgresDatabase, write: (client: pg.PoolClient, sequence: number) => Promise<T>): Promise<T> {
  return inTransaction(database.pool, async (client) => {
    const next = await client.query<{ sequence: number }>('UPDATE api_key_changes SET sequence = sequence + 1 WHERE id = 1 RETURNING sequence');
    return write(client, next.rows[0]!.sequence);
  });
}

/** Keys in PostgreSQL: every replica sees keys created or revoked by the others (KeyIndex.refresh re-reads them). */
export class PostgresKeyStore implements KeyStore {
  /** Call `migrateRecords(database)` first (createPostgresStores does). */
  constructor(private readonly database: PostgresDatabase) {}

  async list(): Promise<KeyRecord[]> {
    const result = await this.database.pool.query<KeyRow>('SELECT * FROM api_keys ORDER BY created_at, id');
    return keysFromRows(result.rows);
  }

  async get(id: string): Promise<KeyRecord | undefined> {
    const result = await this.database.pool.query<KeyRow>('SELECT * FROM api_keys WHERE id = $1', [id]);
    return result.rows[0] === undefined ? undefined : keyFromRow(result.rows[0]);
  }

  async changedSince(after: number): Promise<ChangedKeys> {
    const result = await this.database.pool.query<ChangedKeyRow>('SELECT * FROM api_keys WHERE change_sequence > $1 ORDER BY change_sequence', [after]);
    return changedKeysFromRows(result.rows, after);
  }

  async insert(key: NewKey): Promise<void> {
    await stamped(this.database, (client, sequence) => client.query(insertKeySql, keyParameters(key, key.source, sequence)));
  }

  async revoke(id: string, at: string, expectedRevision?: number): Promise<KeyRecord | KeyRevisionConflict | undefined> {
    // COALESCE keeps the first revocation time when the key was already revoked; then the row is left as it was. An
    // active key at another revision than expected matches nothing: it is read again below to name its revision.
    const result = await stamped(this.database, (client, sequence) => client.query<KeyRow>(
      `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2), revision = revision + (CASE WHEN revoked_at IS NULL THEN 1 ELSE 0 END),
       change_sequence = (CASE WHEN revoked_at IS NULL THEN $3 ELSE change_sequence END)
       WHERE id = $1 AND ($4::integer IS NULL OR revoked_at IS NOT NULL OR revision = $4) RETURNING *`, [id, at, sequence, expectedRevision ?? null]));
    if (result.rows[0] !== undefined) return keyFromRow(result.rows[0]);
    const current = expectedRevision === undefined ? undefined : await this.get(id);
    return current === undefined ? undefined : { conflict: 'revision', revision: current.revision };
  }

  async update(id: string, changes: KeyChanges, expectedRevision?: number): Promise<KeyRecord | KeyRevisionConflict | undefined> {
    // One statement checks the revision and writes, so of two edits from the same revision exactly one matches.
    const result = await stamped(this.database, (client, sequence) => client.query<KeyRow>(
      `UPDATE api_keys SET department = $2, name = $3, models = $4, budgets = $5, policy = $6, revision = revision + 1, change_sequence = $8
       WHERE id = $1 AND source = 'api' AND revoked_at IS NULL AND ($7::integer IS NULL OR revision = $7) RETURNING *`,
      [id, changes.department, changes.name, changes.models === null ? null : JSON.stringify(changes.models), JSON.stringify(changes.budgets),
        changes.policy === null ? null : JSON.stringify(changes.policy), expectedRevision ?? null, sequence],
    ));
    if (result.rows[0] !== undefined) return keyFromRow(result.rows[0]);
    if (expectedRevision === undefined) return undefined;
    const current = await this.database.pool.query<{ revision: number }>(
      "SELECT revision FROM api_keys WHERE id = $1 AND source = 'api' AND revoked_at IS NULL", [id]);
    return current.rows[0] === undefined ? undefined : { conflict: 'revision', revision: current.rows[0].revision };
  }

  async syncConfigKeys(keys: NewKey[], at: string): Promise<void> {
    await inTransaction(this.database.pool, async (client) => {
      // Replicas starting together all sync the same config: one at a time, each seeing the previous one's result.
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`covenant:sync-config-keys:${this.database.schema}`]);
      // The change counter's row stays locked to the commit (see stamped): every row this sync changes gets this stamp.
      const sequence = (await client.query<{ sequence: number }>('UPDATE api_key_changes SET sequence = sequence + 1 WHERE id = 1 RETURNING sequence')).rows[0]!.sequence;
      const existing = new Map((await client.query<{ id: string; secret_hash: string }>(
        "SELECT id, secret_hash FROM api_keys WHERE source = 'config'")).rows.map((row) => [row.id, row.secret_hash]));
      const listed = keys.map((key) => key.id);
      // A secret that moved from a config key leaving the config (a renamed key): free the hash first. Revoked with its
      // hash set aside rather than deleted: replicas reading changes learn of it, and its history stays.
      await client.query(`UPDATE api_keys SET secret_hash = 'moved:' || id, revoked_at = COALESCE(revoked_at, $3), revision = revision + 1, change_sequence = $4
        WHERE source = 'config' AND secret_hash = ANY($1) AND NOT (id = ANY($2))`, [keys.map((key) => key.secretHash), listed, at, sequence]);
      // Secrets that moved between listed keys (two keys swapped secrets): park the old hashes so no update collides.
      const moving = keys.filter((key) => existing.has(key.id) && existing.get(key.id) !== key.secretHash).map((key) => key.id);
      if (moving.length > 0) await client.query("UPDATE api_keys SET secret_hash = 'moving:' || id WHERE id = ANY($1)", [moving]);
      for (const key of keys) {
        if (!existing.has(key.id)) {
          await client.query(insertKeySql, keyParameters(key, 'config', sequence));
        } else {
          // The revision and change sequence move only when the sync changes the row, so an unchanged config keeps its
          // ETags and gives replicas nothing to read.
          await client.query(`UPDATE api_keys SET models = $1, budgets = $2, secret_hash = $3, revoked_at = NULL, revision = revision + 1, change_sequence = $5
            WHERE id = $4 AND (models IS DISTINCT FROM $1::jsonb OR budgets IS DISTINCT FROM $2::jsonb OR secret_hash IS DISTINCT FROM $3 OR revoked_at IS NOT NULL)`, [
            key.models === null ? null : JSON.stringify(key.models), JSON.stringify(key.budgets), key.secretHash, key.id, sequence,
          ]);
        }
      }
      const removed = [...existing.keys()].filter((id) => !listed.includes(id));
      if (removed.length > 0) {
        await client.query('UPDATE api_keys SET revoked_at = $1, revision = revision + 1, change_sequence = $3 WHERE id = ANY($2) AND revoked_at IS NULL', [at, removed, sequence]);
      }
    });
  }
}

/** The request log in PostgreSQL: the ledger's inference entries, newest first (open the ledger first: its tables must exist). */
export class PostgresRequestLog implements RequestLog {
  constructor(private readonly database: PostgresDatabase) {}

  async recent(limit: number, department?: string | null): Promise<RequestRecord[]> {
    const result: pg.QueryResult<{ entry_json: string }> = department
      ? await this.database.pool.query(recentInferenceSql((position) => `$${position}`, true), [department, limit])
      : await this.database.pool.query(recentInferenceSql((position) => `$${position}`, false), [limit]);
    return result.rows.map((row) => requestFromEntryJson(row.entry_json)).filter((record) => record !== undefined);
  }
}
