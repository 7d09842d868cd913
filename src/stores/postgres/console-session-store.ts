// Console sign-in sessions on PostgreSQL: shared by every replica, so a browser signed in on one is signed in on all.
import {
  consoleSessionColumns, consoleSessionFromRow, consoleSessionValues, type ConsoleSessionRow, type ConsoleSessionStore,
} from '../../console/store.js';
import { inTransaction, migratePostgres, type PostgresDatabase, type PostgresMigration } from './database.js';

const migrations: PostgresMigration[] = [
  {
    id: 'console-001-sessions',
    sql: `
      CREATE TABLE console_sessions (
        seq BIGSERIAL PRIMARY KEY,
        id_digest TEXT NOT NULL UNIQUE,
        key_name TEXT NOT NULL,
        key_digest TEXT NOT NULL,
        csrf TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
      );
      CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
    `,
  },
];

export async function createPostgresConsoleSessionStore(database: PostgresDatabase): Promise<ConsoleSessionStore> {
  await migratePostgres(database, migrations);
  const pool = database.pool;
  // Sign-ins on several replicas take turns, so the oldest-first trim keeps exactly `maxSessions`.
  const lock = `covenant:console-sessions:${database.schema}`;
  return {
    async open(record, limits) {
      await inTransaction(pool, async (client) => {
        await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [lock]);
        await client.query('DELETE FROM console_sessions WHERE expires_at <= $1', [limits.now]);
        await client.query(
          `INSERT INTO console_sessions (${consoleSessionColumns.join(', ')}) VALUES (${consoleSessionColumns.map((_, index) => `$${index + 1}`).join(', ')})`,
          consoleSessionValues(record));
        await client.query('DELETE FROM console_sessions WHERE seq <= (SELECT seq FROM console_sessions ORDER BY seq DESC LIMIT 1 OFFSET $1)', [limits.maxSessions]);
      });
    },
    async find(idDigest) {
      const result = await pool.query<ConsoleSessionRow>('SELECT * FROM console_sessions WHERE id_digest = $1', [idDigest]);
      return result.rows[0] ? consoleSessionFromRow(result.rows[0]) : undefined;
    },
    async close(idDigest) {
      await pool.query('DELETE FROM console_sessions WHERE id_digest = $1', [idDigest]);
    },
    async prune(now) {
      return (await pool.query('DELETE FROM console_sessions WHERE expires_at <= $1', [now])).rowCount ?? 0;
    },
    async count(now) {
      const result = await pool.query<{ count: number }>('SELECT COUNT(*)::int AS count FROM console_sessions WHERE expires_at > $1', [now]);
      return result.rows[0]?.count ?? 0;
    },
  };
}
