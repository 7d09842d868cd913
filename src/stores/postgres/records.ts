// PostgreSQL implementations of the key store and the request log (log writes batched into one INSERT per turn).
import type pg from 'pg';
import { requestFromRow, type KeyRecord, type KeyStore, type NewKey, type RequestLog, type RequestRecord, type RequestRow } from '../records.js';
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
];

export function migrateRecords(database: PostgresDatabase): Promise<string[]> {
  return migratePostgres(database, recordMigrations);
}

interface KeyRow {
  id: string; department: string; name: string; models: string[] | null; budgets: KeyRecord['budgets'];
  source: 'config' | 'api'; secret_hash: string; created_at: string; revoked_at: string | null;
}

function keyFromRow(row: KeyRow): KeyRecord {
  return {
    id: row.id,
    department: row.department,
    name: row.name,
    models: row.models,
    budgets: row.budgets,
    source: row.source,
    secretHash: row.secret_hash,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}

const insertKeySql =
  'INSERT INTO api_keys (id, department, name, models, budgets, source, secret_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)';

function keyParameters(key: NewKey, source: 'config' | 'api'): unknown[] {
  return [key.id, key.department, key.name, key.models === null ? null : JSON.stringify(key.models), JSON.stringify(key.budgets), source, key.secretHash, key.createdAt];
}

/** Keys in PostgreSQL: every replica sees keys created or revoked by the others (KeyIndex.refresh re-reads them). */
export class PostgresKeyStore implements KeyStore {
  /** Call `migrateRecords(database)` first (createPostgresStores does). */
  constructor(private readonly database: PostgresDatabase) {}

  async list(): Promise<KeyRecord[]> {
    const result = await this.database.pool.query<KeyRow>('SELECT * FROM api_keys ORDER BY created_at, id');
    return result.rows.map(keyFromRow);
  }

  async insert(key: NewKey): Promise<void> {
    await this.database.pool.query(insertKeySql, keyParameters(key, key.source));
  }

  async revoke(id: string, at: string): Promise<KeyRecord | undefined> {
    // COALESCE keeps the first revocation time when the key was already revoked.
    const result = await this.database.pool.query<KeyRow>(
      'UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 RETURNING *', [id, at]);
    return result.rows[0] === undefined ? undefined : keyFromRow(result.rows[0]);
  }

  async syncConfigKeys(keys: NewKey[], at: string): Promise<void> {
    await inTransaction(this.database.pool, async (client) => {
      // Replicas starting together all sync the same config: one at a time, each seeing the previous one's result.
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`covenant:sync-config-keys:${this.database.schema}`]);
      const existing = new Map((await client.query<{ id: string; secret_hash: string }>(
        "SELECT id, secret_hash FROM api_keys WHERE source = 'config'")).rows.map((row) => [row.id, row.secret_hash]));
      const listed = keys.map((key) => key.id);
      // A secret that moved from a config key leaving the config (a renamed key): free the hash first.
      await client.query("DELETE FROM api_keys WHERE source = 'config' AND secret_hash = ANY($1) AND NOT (id = ANY($2))", [
        keys.map((key) => key.secretHash), listed,
      ]);
      // Secrets that moved between listed keys (two keys swapped secrets): park the old hashes so no update collides.
      const moving = keys.filter((key) => existing.has(key.id) && existing.get(key.id) !== key.secretHash).map((key) => key.id);
      if (moving.length > 0) await client.query("UPDATE api_keys SET secret_hash = 'moving:' || id WHERE id = ANY($1)", [moving]);
      for (const key of keys) {
        if (!existing.has(key.id)) {
          await client.query(insertKeySql, keyParameters(key, 'config'));
        } else {
          await client.query('UPDATE api_keys SET models = $1, budgets = $2, secret_hash = $3, revoked_at = NULL WHERE id = $4', [
            key.models === null ? null : JSON.stringify(key.models), JSON.stringify(key.budgets), key.secretHash, key.id,
          ]);
        }
      }
      const removed = [...existing.keys()].filter((id) => !listed.includes(id));
      if (removed.length > 0) {
        await client.query('UPDATE api_keys SET revoked_at = $1 WHERE id = ANY($2) AND revoked_at IS NULL', [at, removed]);
      }
    });
  }
}


/** Column, its PostgreSQL array type for unnest, and how to read it from a record; in table order. */
const requestColumns: readonly [string, string, (record: RequestRecord) => unknown][] = [
  ['id', 'text', (record) => record.id],
  ['time', 'text', (record) => record.time],
  ['key_id', 'text', (record) => record.keyId],
  ['key_name', 'text', (record) => record.keyName],
  ['department', 'text', (record) => record.department],
  ['end_user', 'text', (record) => record.user],
  ['route', 'text', (record) => record.route],
  ['alias', 'text', (record) => record.alias],
  ['provider', 'text', (record) => record.provider],
  ['upstream_model', 'text', (record) => record.upstreamModel],
  ['stream', 'boolean', (record) => record.stream],
  ['status', 'integer', (record) => record.status],
  ['error_code', 'text', (record) => record.errorCode],
  ['input_tokens', 'bigint', (record) => record.inputTokens],
  ['output_tokens', 'bigint', (record) => record.outputTokens],
  ['cached_input_tokens', 'bigint', (record) => record.cachedInputTokens],
  ['reasoning_tokens', 'bigint', (record) => record.reasoningTokens],
  ['cost_micros', 'bigint', (record) => record.costMicros],
  ['latency_ms', 'double precision', (record) => record.latencyMs],
  ['max_tokens', 'bigint', (record) => record.maxTokens],
];

// One statement per batch whatever its size: each column travels as one array parameter; WITH ORDINALITY keeps
// the batch's order in `position`, which breaks ties between equal times in recent().
const insertRequestsSql = `INSERT INTO requests (${requestColumns.map(([name]) => name).join(', ')})
  SELECT ${requestColumns.map(([name]) => name).join(', ')} FROM unnest(${requestColumns.map(([, type], index) => `$${index + 1}::${type}[]`).join(', ')})
  WITH ORDINALITY AS batch (${requestColumns.map(([name]) => name).join(', ')}, ordinal) ORDER BY ordinal
  ON CONFLICT (id) DO NOTHING`;

export interface PostgresRequestLogOptions {
  /** Records kept in memory while PostgreSQL is unreachable; the oldest beyond this are dropped (and reported). Default 100,000. */
  maxPending?: number;
  /** A batch failed to write (it is retried with the next batch). */
  onError?: (error: unknown) => void;
}

/** The request log in PostgreSQL: add() queues, one INSERT per event-loop turn writes the queue. */
export class PostgresRequestLog implements RequestLog {
  private pending: RequestRecord[] = [];
  private scheduled = false;
  private writing: Promise<void> = Promise.resolve();
  private readonly maxPending: number;

  /** Call `migrateRecords(database)` first (createPostgresStores does). */
  constructor(private readonly database: PostgresDatabase, private readonly options: PostgresRequestLogOptions = {}) {
    this.maxPending = options.maxPending ?? 100_000;
  }

  add(record: RequestRecord): void {
    this.pending.push(record);
    if (this.pending.length > this.maxPending) {
      const dropped = this.pending.splice(0, this.pending.length - this.maxPending);
      this.options.onError?.(new Error(`request log: PostgreSQL is behind; dropped ${dropped.length} oldest records`));
    }
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.write().catch((error: unknown) => this.options.onError?.(error));
      });
    }
  }

  /** Writes run one after another, so records reach the table in the order they were added. */
  private write(): Promise<void> {
    this.scheduled = false;
    this.writing = this.writing.catch(() => undefined).then(() => this.writeBatch());
    return this.writing;
  }

  private async writeBatch(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    try {
      await this.database.pool.query(insertRequestsSql, requestColumns.map(([, , read]) => batch.map(read)));
    } catch (error) {
      // Put the batch back in front so a later write (or flush) retries it; ON CONFLICT makes a retry harmless.
      this.pending = batch.concat(this.pending);
      throw error;
    }
  }

  async recent(limit: number, department?: string | null): Promise<RequestRecord[]> {
    await this.flush();
    const result: pg.QueryResult<RequestRow> = department
      ? await this.database.pool.query('SELECT * FROM requests WHERE department = $1 ORDER BY time DESC, position DESC LIMIT $2', [department, limit])
      : await this.database.pool.query('SELECT * FROM requests ORDER BY time DESC, position DESC LIMIT $1', [limit]);
    return result.rows.map(requestFromRow);
  }

  /** Resolves once every record added so far is written; rejects if PostgreSQL refused them (they stay queued). */
  async flush(): Promise<void> {
    await this.write();
  }
}
