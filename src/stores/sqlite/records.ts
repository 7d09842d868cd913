// SQLite implementations of the key store and the request log (writes batched per event-loop turn).
import { requestFromRow, type KeyRecord, type KeyStore, type NewKey, type RequestLog, type RequestRecord, type RequestRow } from '../records.js';
import { migrate, type Migration, type SqliteDatabase } from './database.js';

const migrations: Migration[] = [
  {
    id: 'records-001',
    sql: `
      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        department TEXT NOT NULL,
        name TEXT NOT NULL,
        models TEXT,
        budgets TEXT NOT NULL DEFAULT '[]',
        source TEXT NOT NULL,
        secret_hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        revoked_at TEXT
      );
      CREATE TABLE requests (
        id TEXT PRIMARY KEY,
        time TEXT NOT NULL,
        key_id TEXT, key_name TEXT, department TEXT, user TEXT,
        route TEXT NOT NULL, alias TEXT, provider TEXT, upstream_model TEXT,
        stream INTEGER NOT NULL, status INTEGER NOT NULL, error_code TEXT,
        input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
        cached_input_tokens INTEGER NOT NULL, reasoning_tokens INTEGER NOT NULL,
        cost_micros INTEGER NOT NULL, latency_ms REAL NOT NULL, max_tokens INTEGER
      );
      CREATE INDEX requests_time ON requests (time);
      CREATE INDEX requests_department_time ON requests (department, time);
    `,
  },
];

export function migrateRecords(database: SqliteDatabase): void {
  migrate(database, migrations);
}

interface KeyRow {
  id: string; department: string; name: string; models: string | null; budgets: string;
  source: 'config' | 'api'; secret_hash: string; created_at: string; revoked_at: string | null;
}

function keyFromRow(row: KeyRow): KeyRecord {
  return {
    id: row.id,
    department: row.department,
    name: row.name,
    models: row.models === null ? null : (JSON.parse(row.models) as string[]),
    budgets: JSON.parse(row.budgets) as KeyRecord['budgets'],
    source: row.source,
    secretHash: row.secret_hash,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}

export class SqliteKeyStore implements KeyStore {
  constructor(private readonly database: SqliteDatabase) {
    migrateRecords(database);
  }

  async list(): Promise<KeyRecord[]> {
    return (this.database.prepare('SELECT * FROM api_keys ORDER BY created_at, id').all() as KeyRow[]).map(keyFromRow);
  }

  async insert(key: NewKey): Promise<void> {
    this.database.prepare(
      'INSERT INTO api_keys (id, department, name, models, budgets, source, secret_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ).run(key.id, key.department, key.name, key.models === null ? null : JSON.stringify(key.models), JSON.stringify(key.budgets), key.source, key.secretHash, key.createdAt);
  }

  async revoke(id: string, at: string): Promise<KeyRecord | undefined> {
    this.database.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(at, id);
    const row = this.database.prepare('SELECT * FROM api_keys WHERE id = ?').get(id) as KeyRow | undefined;
    return row ? keyFromRow(row) : undefined;
  }

  async syncConfigKeys(keys: NewKey[], at: string): Promise<void> {
    const existing = new Map((this.database.prepare("SELECT id, secret_hash FROM api_keys WHERE source = 'config'").all() as { id: string; secret_hash: string }[])
      .map((row) => [row.id, row.secret_hash]));
    const listed = new Set(keys.map((key) => key.id));
    const removeMoved = this.database.prepare("DELETE FROM api_keys WHERE source = 'config' AND secret_hash = ? AND id <> ?");
    const park = this.database.prepare("UPDATE api_keys SET secret_hash = 'moving:' || id WHERE id = ?");
    const insert = this.database.prepare(
      'INSERT INTO api_keys (id, department, name, models, budgets, source, secret_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const update = this.database.prepare('UPDATE api_keys SET models = ?, budgets = ?, secret_hash = ?, revoked_at = NULL WHERE id = ?');
    const revoke = this.database.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
    this.database.transaction(() => {
      // A secret that moved from a config key leaving the config (a renamed key): free the hash first.
      for (const key of keys) {
        for (const [id, hash] of existing) if (hash === key.secretHash && !listed.has(id)) removeMoved.run(key.secretHash, key.id);
      }
      // Secrets that moved between listed keys (two keys swapped secrets): park the old hashes so no update collides.
      for (const key of keys) if (existing.has(key.id) && existing.get(key.id) !== key.secretHash) park.run(key.id);
      for (const key of keys) {
        const models = key.models === null ? null : JSON.stringify(key.models);
        if (!existing.has(key.id)) insert.run(key.id, key.department, key.name, models, JSON.stringify(key.budgets), 'config', key.secretHash, key.createdAt);
        else update.run(models, JSON.stringify(key.budgets), key.secretHash, key.id);
      }
      for (const id of existing.keys()) if (!listed.has(id)) revoke.run(at, id);
    })();
  }
}


export class SqliteRequestLog implements RequestLog {
  private pending: RequestRecord[] = [];
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly insert;
  private readonly insertAll;

  constructor(
    private readonly database: SqliteDatabase,
    private readonly onError: (error: unknown) => void = (error) => process.emitWarning(`request log: ${(error as Error).message}`),
    private readonly schedule: (flush: () => void) => void = (flush) => setImmediate(flush),
  ) {
    migrateRecords(database);
    this.insert = database.prepare(`INSERT OR IGNORE INTO requests VALUES (${Array.from({ length: 20 }, () => '?').join(', ')})`);
    this.insertAll = database.transaction((batch: RequestRecord[]) => {
      for (const record of batch) {
        this.insert.run(
          record.id, record.time, record.keyId, record.keyName, record.department, record.user, record.route, record.alias,
          record.provider, record.upstreamModel, record.stream ? 1 : 0, record.status, record.errorCode, record.inputTokens,
          record.outputTokens, record.cachedInputTokens, record.reasoningTokens, record.costMicros, record.latencyMs, record.maxTokens,
        );
      }
    });
  }

  /**
   * Queue a record. The request log is an operational view, not evidence (the ledger is), so it is written in
   * batches every 100 ms, inside the turn's shared transaction.
   */
  add(record: RequestRecord): void {
    this.pending.push(record);
    if (!this.scheduled) {
      this.scheduled = true;
      this.timer = setTimeout(() => this.schedule(() => this.write()), 100);
      this.timer.unref();
    }
  }

  private write(): void {
    this.scheduled = false;
    clearTimeout(this.timer);
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    try {
      this.insertAll(batch);
    } catch (error) {
      // Runs from setImmediate: never throw there. Keep the batch for the next write and say why.
      this.pending = batch.concat(this.pending);
      this.onError(error);
    }
  }

  async recent(limit: number, department?: string | null): Promise<RequestRecord[]> {
    this.write();
    const rows = department
      ? this.database.prepare('SELECT *, user AS end_user FROM requests WHERE department = ? ORDER BY time DESC, rowid DESC LIMIT ?').all(department, limit)
      : this.database.prepare('SELECT *, user AS end_user FROM requests ORDER BY time DESC, rowid DESC LIMIT ?').all(limit);
    return (rows as RequestRow[]).map(requestFromRow);
  }

  async flush(): Promise<void> {
    this.write();
  }
}
