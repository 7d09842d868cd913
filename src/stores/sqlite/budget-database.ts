// The budget counters' own database file beside the main one, and the move of the counters an older version kept in the main file.
//
// Why a file of its own: SQLite has one writer per database file. The budget store's fold thread writes every changed
// counter each second (with a million end users, thousands of rows in random pages); in the main file every other
// store's commit (the ledger's, which each answer waits for) had to wait while it wrote.
import { budgetMigrations } from './budget-store.js';
import { migrate, openDatabase, type SqliteDatabase } from './database.js';

/** The budget counters' database beside the main database file `path` (its journal is journalPathOf(path)). */
export function budgetDatabasePathOf(path: string): string {
  return `${path}-budgets.db`;
}

/**
 * Open the budget counters' database for the main database `main` (an in-memory one for an in-memory main), moving
 * into it the budget tables a version before the split kept in `main`: copied in one transaction, then dropped from
 * `main`. A crash between the two copies them again at the next open, over the same rows (nothing wrote them since).
 *
 * @example const budgets = createSqliteBudgetStore(openBudgetDatabase(main), { journalPath: journalPathOf(main.name) });
 */
export function openBudgetDatabase(main: SqliteDatabase): SqliteDatabase {
  const budgets = openDatabase(main.memory ? ':memory:' : budgetDatabasePathOf(main.name));
  try {
    migrate(budgets, budgetMigrations);
    const legacy = main.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'budget_counters'").get();
    if (legacy !== undefined) {
      // The older tables in the current shape first (a database from before budgets-002 holds reservation rows).
      migrate(main, budgetMigrations);
      budgets.prepare('ATTACH DATABASE ? AS legacy').run(main.name);
      try {
        budgets.transaction(() => {
          budgets.exec(`INSERT OR REPLACE INTO main.budget_counters (counter_key, scope, unit, period, window_key, spent, reserved)
            SELECT counter_key, scope, unit, period, window_key, spent, reserved FROM legacy.budget_counters`);
        }).immediate();
      } finally {
        budgets.exec('DETACH DATABASE legacy');
      }
      main.exec('DROP TABLE budget_counters');
    }
    return budgets;
  } catch (error) {
    budgets.close();
    throw error;
  }
}
