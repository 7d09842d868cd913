// Opens the embedded SQLite database (WAL, crash-safe against process kills) and applies each module's migrations.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type SqliteDatabase = Database.Database;

/** A named, ordered list of SQL statements; each is applied once and recorded in `schema_migrations`. */
export interface Migration {
  id: string;
  sql: string;
}

/**
 * Open (creating if needed) the database at `path` (':memory:' for tests).
 * WAL with synchronous=NORMAL: a committed transaction survives a SIGKILL of the process
 * (it is in the WAL file); only an OS crash can lose the last commits.
 */
export function openDatabase(path: string): SqliteDatabase {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const database = new Database(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('busy_timeout = 5000');
  database.pragma('foreign_keys = ON');
  database.exec('CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL)');
  return database;
}

/** Apply the migrations not yet applied, each in its own transaction. */
export function migrate(database: SqliteDatabase, migrations: readonly Migration[]): void {
  const applied = new Set(
    (database.prepare('SELECT id FROM schema_migrations').all() as { id: string }[]).map((row) => row.id),
  );
  const record = database.prepare('INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)');
  for (const migration of migrations) {
    if (applied.has(migration.id)) continue;
    database.transaction(() => {
      database.exec(migration.sql);
      record.run(migration.id, new Date().toISOString());
    })();
  }
}
