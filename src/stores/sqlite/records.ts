// SQLite implementations of the key store and the request log (a newest-first view of the ledger's inference entries).
import {
  changedKeysFromRows, keyFromRow, keysFromRows, recentInferenceSql, requestFromEntryJson,
  type ChangedKeyRow, type ChangedKeys, type KeyChanges, type KeyRecord, type KeyRevisionConflict, type KeyRow, type KeyStore, type NewKey, type RequestLog, type RequestRecord,
} from '../records.js';
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
  {
    // The request log is read from the ledger's inference entries, which hold the same fields.
    id: 'records-002-requests-from-ledger',
    sql: 'DROP TABLE IF EXISTS requests;',
  },
  {
    // The guards and routing of keys made by the admin API (JSON); existing keys have none.
    id: 'records-003-key-policy',
    sql: 'ALTER TABLE api_keys ADD COLUMN policy TEXT;',
  },
  {
    // Each key's revision (its ETag for If-Match edits); existing keys start at 1.
    id: 'records-004-key-revision',
    sql: 'ALTER TABLE api_keys ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;',
  },
  {
    // The store-wide change counter every key write moves, and each key's last stamp, so replicas read only what
    // changed; existing keys get 1, above the 0 a first read starts after.
    id: 'records-005-key-change-sequence',
    sql: `
      CREATE TABLE api_key_changes (id INTEGER PRIMARY KEY CHECK (id = 1), sequence INTEGER NOT NULL);
      INSERT INTO api_key_changes (id, sequence) VALUES (1, 1);
      ALTER TABLE api_keys ADD COLUMN change_sequence INTEGER NOT NULL DEFAULT 1;
      CREATE INDEX api_keys_change_sequence ON api_keys (change_sequence);
    `,
  },
];

export function migrateRecords(database: SqliteDatabase): void {
  migrate(database, migrations);
}


export class SqliteKeyStore implements KeyStore {
  private readonly nextSequence;

  constructor(private readonly database: SqliteDatabase) {
    migrateRecords(database);
    this.nextSequence = database.prepare<[], number>('UPDATE api_key_changes SET sequence = sequence + 1 WHERE id = 1 RETURNING sequence').pluck();
  }

  /** Runs `write` with the next change sequence in one transaction, so the stamp commits with the change. */
  private stamped<T>(write: (sequence: number) => T): T {
    return this.database.transaction(() => write(this.nextSequence.get()!))();
  }

  async list(): Promise<KeyRecord[]> {
    return keysFromRows(this.database.prepare('SELECT * FROM api_keys ORDER BY created_at, id').all() as KeyRow[]);
  }

  async get(id: string): Promise<KeyRecord | undefined> {
    const row = this.database.prepare('SELECT * FROM api_keys WHERE id = ?').get(id) as KeyRow | undefined;
    return row === undefined ? undefined : keyFromRow(row);
  }

  async changedSince(after: number): Promise<ChangedKeys> {
    const rows = this.database.prepare('SELECT * FROM api_keys WHERE change_sequence > ? ORDER BY change_sequence').all(after) as ChangedKeyRow[];
    return changedKeysFromRows(rows, after);
  }

  async insert(key: NewKey): Promise<void> {
    const insert = this.database.prepare(
      'INSERT INTO api_keys (id, department, name, models, budgets, policy, source, secret_hash, created_at, change_sequence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.stamped((sequence) => insert.run(
      key.id, key.department, key.name, key.models === null ? null : JSON.stringify(key.models), JSON.stringify(key.budgets),
      key.policy == null ? null : JSON.stringify(key.policy), key.source, key.secretHash, key.createdAt, sequence,
    ));
  }

  async revoke(id: string, at: string, expectedRevision?: number): Promise<KeyRecord | KeyRevisionConflict | undefined> {
    const revoke = this.database.prepare(
      `UPDATE api_keys SET revoked_at = ?, revision = revision + 1, change_sequence = ? WHERE id = ? AND revoked_at IS NULL${expectedRevision === undefined ? '' : ' AND revision = ?'}`,
    );
    this.stamped((sequence) => (expectedRevision === undefined ? revoke.run(at, sequence, id) : revoke.run(at, sequence, id, expectedRevision)));
    const key = await this.get(id);
    if (key !== undefined && key.revokedAt === null && expectedRevision !== undefined) return { conflict: 'revision', revision: key.revision };
    return key;
  }

  async update(id: string, changes: KeyChanges, expectedRevision?: number): Promise<KeyRecord | KeyRevisionConflict | undefined> {
    const editable = "id = ? AND source = 'api' AND revoked_at IS NULL";
    const update = this.database.prepare(
      `UPDATE api_keys SET department = ?, name = ?, models = ?, budgets = ?, policy = ?, revision = revision + 1, change_sequence = ? WHERE ${editable}${expectedRevision === undefined ? '' : ' AND revision = ?'} RETURNING *`,
    );
    const row = this.stamped((sequence) => update.get(
      changes.department, changes.name, changes.models === null ? null : JSON.stringify(changes.models), JSON.stringify(changes.budgets),
      changes.policy === null ? null : JSON.stringify(changes.policy), sequence, id, ...(expectedRevision === undefined ? [] : [expectedRevision]),
    ) as KeyRow | undefined);
    if (row !== undefined) return keyFromRow(row);
    if (expectedRevision === undefined) return undefined;
    const current = this.database.prepare(`SELECT revision FROM api_keys WHERE ${editable}`).get(id) as { revision: number } | undefined;
    return current === undefined ? undefined : { conflict: 'revision', revision: current.revision };
  }

  async syncConfigKeys(keys: NewKey[], at: string): Promise<void> {
    const existing = new Map((this.database.prepare("SELECT id, secret_hash FROM api_keys WHERE source = 'config'").all() as { id: string; secret_hash: string }[])
      .map((row) => [row.id, row.secret_hash]));
    const listed = new Set(keys.map((key) => key.id));
    // Revoked with its hash set aside rather than deleted: replicas reading changes learn of it, and its history stays.
    const retireMoved = this.database.prepare(
      "UPDATE api_keys SET secret_hash = 'moved:' || id, revoked_at = COALESCE(revoked_at, ?), revision = revision + 1, change_sequence = ? WHERE source = 'config' AND secret_hash = ? AND id <> ?",
    );
    const park = this.database.prepare("UPDATE api_keys SET secret_hash = 'moving:' || id WHERE id = ?");
    const insert = this.database.prepare(
      'INSERT INTO api_keys (id, department, name, models, budgets, source, secret_hash, created_at, change_sequence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    // A config key's revision and change sequence move only when the sync changes its row, so an unchanged config
    // keeps its ETags and gives replicas nothing to read.
    const update = this.database.prepare(
      `UPDATE api_keys SET revision = revision + 1, change_sequence = ?, models = ?, budgets = ?, secret_hash = ?, revoked_at = NULL
       WHERE id = ? AND (models IS NOT ? OR budgets IS NOT ? OR secret_hash IS NOT ? OR revoked_at IS NOT NULL)`,
    );
    const revoke = this.database.prepare('UPDATE api_keys SET revoked_at = ?, revision = revision + 1, change_sequence = ? WHERE id = ? AND revoked_at IS NULL');
    this.stamped((sequence) => {
      // A secret that moved from a config key leaving the config (a renamed key): free the hash first.
      for (const key of keys) {
        for (const [id, hash] of existing) if (hash === key.secretHash && !listed.has(id)) retireMoved.run(at, sequence, key.secretHash, key.id);
      }
      // Secrets that moved between listed keys (two keys swapped secrets): park the old hashes so no update collides.
      for (const key of keys) if (existing.has(key.id) && existing.get(key.id) !== key.secretHash) park.run(key.id);
      for (const key of keys) {
        const models = key.models === null ? null : JSON.stringify(key.models);
        const budgets = JSON.stringify(key.budgets);
        if (!existing.has(key.id)) insert.run(key.id, key.department, key.name, models, budgets, 'config', key.secretHash, key.createdAt, sequence);
        else update.run(sequence, models, budgets, key.secretHash, key.id, models, budgets, key.secretHash);
      }
      for (const id of existing.keys()) if (!listed.has(id)) revoke.run(at, sequence, id);
    });
  }
}


export class SqliteRequestLog implements RequestLog {
  private readonly all;
  private readonly byDepartment;

  /** Open after the ledger (its tables must exist): the records are its inference entries. */
  constructor(database: SqliteDatabase) {
    this.all = database.prepare<[number], { entry_json: string }>(recentInferenceSql(() => '?', false));
    this.byDepartment = database.prepare<[string, number], { entry_json: string }>(recentInferenceSql(() => '?', true));
  }

  async recent(limit: number, department?: string | null): Promise<RequestRecord[]> {
    const rows = department ? this.byDepartment.all(department, limit) : this.all.all(limit);
    return rows.map((row) => requestFromEntryJson(row.entry_json)).filter((record) => record !== undefined);
  }
}
