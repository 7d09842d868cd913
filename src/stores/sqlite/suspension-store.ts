// Agent session suspensions on SQLite: durable, so a suspended session stays suspended across restarts.
import { migrate, type Migration, type SqliteDatabase } from './database.js';
import {
  suspensionColumns, suspensionFromRow, suspensionValues, type NewSuspension, type SuspensionRow, type SuspensionStore,
} from '../../sessions/store.js';

export const suspensionMigrations: readonly Migration[] = [
  {
    id: 'sessions-001-suspensions',
    sql: `
      CREATE TABLE session_suspensions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session TEXT NOT NULL,
        label TEXT,
        department TEXT NOT NULL,
        key_id TEXT NOT NULL,
        key_name TEXT NOT NULL,
        policy TEXT NOT NULL,
        count INTEGER NOT NULL,
        session_limit INTEGER NOT NULL,
        message TEXT NOT NULL,
        steps INTEGER NOT NULL,
        spent_micros INTEGER NOT NULL,
        request_id TEXT NOT NULL,
        suspended_at INTEGER NOT NULL,
        resumed_at INTEGER,
        resumed_by TEXT,
        reason TEXT,
        webhook TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        delivered_at INTEGER,
        last_error TEXT
      );
      CREATE UNIQUE INDEX session_suspensions_active ON session_suspensions (session) WHERE resumed_at IS NULL;
      CREATE INDEX session_suspensions_department ON session_suspensions (department);
    `,
  },
];

export function createSqliteSuspensionStore(database: SqliteDatabase): SuspensionStore {
  migrate(database, suspensionMigrations);
  const insert = database.prepare(
    `INSERT INTO session_suspensions (${suspensionColumns.join(', ')}) VALUES (${suspensionColumns.map(() => '?').join(', ')})
     ON CONFLICT (session) WHERE resumed_at IS NULL DO NOTHING`);
  const byId = database.prepare<[number], SuspensionRow>('SELECT * FROM session_suspensions WHERE id = ?');
  const active = database.prepare<[string], SuspensionRow>('SELECT * FROM session_suspensions WHERE session = ? AND resumed_at IS NULL');
  const resume = database.prepare('UPDATE session_suspensions SET resumed_at = ?, resumed_by = ?, reason = ? WHERE id = ?');
  const delivery = database.prepare('UPDATE session_suspensions SET attempts = ?, delivered_at = ?, last_error = ? WHERE id = ?');
  return {
    async suspend(suspension: NewSuspension) {
      const result = insert.run(...suspensionValues(suspension));
      if (result.changes === 0) return undefined;
      return suspensionFromRow(byId.get(Number(result.lastInsertRowid)) as SuspensionRow);
    },
    async active(session) {
      const row = active.get(session);
      return row ? suspensionFromRow(row) : undefined;
    },
    async list(filter = {}) {
      const limit = Math.max(1, Math.min(filter.limit ?? 1000, 10_000));
      const conditions = [filter.resumed ? '1 = 1' : 'resumed_at IS NULL'];
      const values: (string | number)[] = [];
      if (filter.department) {
        conditions.push('department = ?');
        values.push(filter.department);
      }
      const rows = database.prepare(`SELECT * FROM session_suspensions WHERE ${conditions.join(' AND ')} ORDER BY id DESC LIMIT ?`).all(...values, limit);
      return (rows as SuspensionRow[]).map(suspensionFromRow);
    },
    async resume(session, resumption) {
      const row = active.get(session);
      if (!row) return undefined;
      resume.run(resumption.at, resumption.by, resumption.reason, row.id);
      return suspensionFromRow(byId.get(Number(row.id)) as SuspensionRow);
    },
    async markDelivery(id, outcome) {
      delivery.run(outcome.attempts, outcome.deliveredAt ?? null, outcome.lastError ?? null, id);
    },
  };
}
