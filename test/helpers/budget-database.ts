// A budget store's database file for a test: a folder of its own (the journal beside it), closed and removed after.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { journalPathOf } from '../../src/stores/sqlite/budget-journal.js';
import { openDatabase, type SqliteDatabase } from '../../src/stores/sqlite/database.js';

/** @example using files = temporaryBudgetDatabase(); const store = createSqliteBudgetStore(files.open()); */
export function temporaryBudgetDatabase() {
  const folder = mkdtempSync(join(tmpdir(), 'covenant-budget-'));
  const path = join(folder, 'covenant.db');
  const opened: SqliteDatabase[] = [];
  return {
    path,
    folder,
    journal: journalPathOf(path),
    open: () => {
      const database = openDatabase(path);
      opened.push(database);
      return database;
    },
    /** A counter's row as the database holds it, read on a connection of its own. */
    row: (key: string) => {
      const database = openDatabase(path);
      try {
        return database.prepare('SELECT spent, reserved FROM budget_counters WHERE counter_key = ?').get(key);
      } finally {
        database.close();
      }
    },
    [Symbol.dispose]: () => {
      for (const database of opened) if (database.open) database.close();
      // A store a test left running ("killed") may still be starting its fold thread, whose connection adds the WAL files.
      rmSync(folder, { recursive: true, force: true, maxRetries: 10, retryDelay: 20 });
    },
  };
}
