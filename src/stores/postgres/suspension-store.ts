// Agent session suspensions on PostgreSQL: durable and shared, so every replica refuses a suspended session.
import {
  suspensionColumns, suspensionFromRow, suspensionValues, type NewSuspension, type SuspensionRow, type SuspensionStore,
} from '../../sessions/store.js';
import { migratePostgres, type PostgresDatabase, type PostgresMigration } from './database.js';

const migrations: PostgresMigration[] = [
  {
    id: 'sessions-001-suspensions',
    sql: `
      CREATE TABLE session_suspensions (
        id BIGSERIAL PRIMARY KEY,
        session TEXT NOT NULL,
        label TEXT,
        department TEXT NOT NULL,
        key_id TEXT NOT NULL,
        key_name TEXT NOT NULL,
        policy TEXT NOT NULL,
        count BIGINT NOT NULL,
        session_limit BIGINT NOT NULL,
        message TEXT NOT NULL,
        steps BIGINT NOT NULL,
        spent_micros BIGINT NOT NULL,
        request_id TEXT NOT NULL,
        suspended_at BIGINT NOT NULL,
        resumed_at BIGINT,
        resumed_by TEXT,
        reason TEXT,
        webhook TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        delivered_at BIGINT,
        last_error TEXT
      );
      CREATE UNIQUE INDEX session_suspensions_active ON session_suspensions (session) WHERE resumed_at IS NULL;
      CREATE INDEX session_suspensions_department ON session_suspensions (department);
    `,
  },
];

export async function createPostgresSuspensionStore(database: PostgresDatabase): Promise<SuspensionStore> {
  await migratePostgres(database, migrations);
  const pool = database.pool;
  return {
    async suspend(suspension: NewSuspension) {
      const result = await pool.query<SuspensionRow>(
        `INSERT INTO session_suspensions (${suspensionColumns.join(', ')}) VALUES (${suspensionColumns.map((_, index) => `$${index + 1}`).join(', ')})
         ON CONFLICT (session) WHERE resumed_at IS NULL DO NOTHING RETURNING *`,
        suspensionValues(suspension),
      );
      return result.rows[0] ? suspensionFromRow(result.rows[0]) : undefined;
    },
    async active(session) {
      const result = await pool.query<SuspensionRow>('SELECT * FROM session_suspensions WHERE session = $1 AND resumed_at IS NULL', [session]);
      return result.rows[0] ? suspensionFromRow(result.rows[0]) : undefined;
    },
    async list(filter = {}) {
      const limit = Math.max(1, Math.min(filter.limit ?? 1000, 10_000));
      const conditions = [filter.resumed ? 'TRUE' : 'resumed_at IS NULL'];
      const values: (string | number)[] = [];
      if (filter.department) {
        values.push(filter.department);
        conditions.push(`department = $${values.length}`);
      }
      values.push(limit);
      const result = await pool.query<SuspensionRow>(
        `SELECT * FROM session_suspensions WHERE ${conditions.join(' AND ')} ORDER BY id DESC LIMIT $${values.length}`, values);
      return result.rows.map(suspensionFromRow);
    },
    async resume(session, resumption) {
      const result = await pool.query<SuspensionRow>(
        'UPDATE session_suspensions SET resumed_at = $1, resumed_by = $2, reason = $3 WHERE session = $4 AND resumed_at IS NULL RETURNING *',
        [resumption.at, resumption.by, resumption.reason, session]);
      return result.rows[0] ? suspensionFromRow(result.rows[0]) : undefined;
    },
    async markDelivery(id, outcome) {
      await pool.query('UPDATE session_suspensions SET attempts = $1, delivered_at = $2, last_error = $3 WHERE id = $4',
        [outcome.attempts, outcome.deliveredAt ?? null, outcome.lastError ?? null, id]);
    },
  };
}
