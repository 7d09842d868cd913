// Console sign-in sessions on SQLite: kept across restarts of the embedded gateway.
import {
  consoleSessionColumns, consoleSessionFromRow, consoleSessionValues, type ConsoleSessionRow, type ConsoleSessionStore,
} from '../../console/store.js';
import { migrate, type Migration, type SqliteDatabase } from './database.js';

export const consoleSessionMigrations: readonly Migration[] = [
  {
    id: 'console-001-sessions',
    sql: `
      CREATE TABLE console_sessions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id_digest TEXT NOT NULL UNIQUE,
        key_name TEXT NOT NULL,
        key_digest TEXT NOT NULL,
        csrf TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
    `,
  },
];

export function createSqliteConsoleSessionStore(database: SqliteDatabase): ConsoleSessionStore {
  migrate(database, consoleSessionMigrations);
  const insert = database.prepare(`INSERT INTO console_sessions (${consoleSessionColumns.join(', ')}) VALUES (${consoleSessionColumns.map(() => '?').join(', ')})`);
  const byDigest = database.prepare<[string], ConsoleSessionRow>('SELECT * FROM console_sessions WHERE id_digest = ?');
  const remove = database.prepare('DELETE FROM console_sessions WHERE id_digest = ?');
  const prune = database.prepare('DELETE FROM console_sessions WHERE expires_at <= ?');
  // Everything older than the newest `maxSessions` (none when there are fewer).
  const trim = database.prepare('DELETE FROM console_sessions WHERE seq <= (SELECT seq FROM console_sessions ORDER BY seq DESC LIMIT 1 OFFSET ?)');
  const count = database.prepare<[number], { count: number }>('SELECT COUNT(*) AS count FROM console_sessions WHERE expires_at > ?');
  const open = database.transaction((values: (string | number)[], now: number, maxSessions: number) => {
    prune.run(now);
    insert.run(...values);
    trim.run(maxSessions);
  });
  return {
    async open(record, limits) {
      open.immediate(consoleSessionValues(record), limits.now, limits.maxSessions);
    },
    async find(idDigest) {
      const row = byDigest.get(idDigest);
      return row ? consoleSessionFromRow(row) : undefined;
    },
    async close(idDigest) {
      remove.run(idDigest);
    },
    async prune(now) {
      return prune.run(now).changes;
    },
    async count(now) {
      return count.get(now)?.count ?? 0;
    },
  };
}
