// Budget alerts on SQLite: one row per (counter, kind, threshold), so an alert is recorded once across processes, with its delivery.
import { migrate, type Migration, type SqliteDatabase } from './database.js';
import { alertFromRow, alertInsertValues, type AlertDelivery, type AlertEvent, type AlertRow, type AlertStore } from '../../budgets/alerts.js';

export const alertMigrations: readonly Migration[] = [
  {
    id: 'budgets-002-alerts',
    sql: `
      CREATE TABLE budget_alerts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        counter_key TEXT NOT NULL,
        scope TEXT NOT NULL,
        unit TEXT NOT NULL,
        period TEXT NOT NULL,
        window_key TEXT NOT NULL,
        threshold REAL NOT NULL,
        spent INTEGER NOT NULL,
        budget_limit INTEGER NOT NULL,
        period_start INTEGER NOT NULL,
        period_end INTEGER NOT NULL,
        time INTEGER NOT NULL,
        webhook TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        delivered_at INTEGER,
        last_error TEXT,
        UNIQUE (counter_key, threshold)
      );
      CREATE INDEX budget_alerts_scope ON budget_alerts (scope);
    `,
  },
  {
    // Burn-rate alerts share the table: the kind joins the unique key (a table rebuild, as SQLite cannot alter a
    // constraint), and each row keeps its delivery status. Rows from before: delivered, failed, or without webhook.
    id: 'budgets-003-alert-kinds',
    sql: `
      CREATE TABLE budget_alerts_next (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL DEFAULT 'threshold',
        counter_key TEXT NOT NULL,
        scope TEXT NOT NULL,
        unit TEXT NOT NULL,
        period TEXT NOT NULL,
        window_key TEXT NOT NULL,
        threshold REAL NOT NULL,
        spent INTEGER NOT NULL,
        budget_limit INTEGER NOT NULL,
        period_start INTEGER NOT NULL,
        period_end INTEGER NOT NULL,
        time INTEGER NOT NULL,
        projected_at INTEGER,
        rate_per_hour INTEGER,
        baseline_per_hour INTEGER,
        webhook TEXT,
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        delivered_at INTEGER,
        last_error TEXT,
        UNIQUE (counter_key, kind, threshold)
      );
      INSERT INTO budget_alerts_next (id, counter_key, scope, unit, period, window_key, threshold, spent, budget_limit,
          period_start, period_end, time, webhook, status, attempts, delivered_at, last_error)
        SELECT id, counter_key, scope, unit, period, window_key, threshold, spent, budget_limit, period_start, period_end,
          time, webhook,
          CASE WHEN delivered_at IS NOT NULL THEN 'delivered' WHEN webhook IS NULL THEN 'none' ELSE 'failed' END,
          attempts, delivered_at, last_error
        FROM budget_alerts;
      DROP TABLE budget_alerts;
      ALTER TABLE budget_alerts_next RENAME TO budget_alerts;
      CREATE INDEX budget_alerts_scope ON budget_alerts (scope);
    `,
  },
];

export function createSqliteAlertStore(database: SqliteDatabase): AlertStore {
  migrate(database, alertMigrations);
  const insert = database.prepare(
    `INSERT INTO budget_alerts (kind, counter_key, scope, unit, period, window_key, threshold, spent, budget_limit,
       period_start, period_end, time, webhook, status, projected_at, rate_per_hour, baseline_per_hour)
     VALUES (@kind, @counterKey, @scope, @unit, @period, @windowKey, @threshold, @spent, @limit,
       @periodStart, @periodEnd, @time, @webhook, @status, @projectedAt, @ratePerHour, @baselinePerHour)
     ON CONFLICT (counter_key, kind, threshold) DO NOTHING`);
  const byId = database.prepare<[number], AlertRow>('SELECT * FROM budget_alerts WHERE id = ?');
  const update = database.prepare(
    'UPDATE budget_alerts SET status = @status, attempts = @attempts, delivered_at = @deliveredAt, last_error = @lastError WHERE id = @id');

  return {
    async record(event: AlertEvent) {
      const result = insert.run(alertInsertValues(event));
      if (result.changes === 0) return undefined;
      return alertFromRow(byId.get(Number(result.lastInsertRowid)) as AlertRow);
    },
    async markDelivery(id: number, delivery: AlertDelivery) {
      update.run({ id, status: delivery.status, attempts: delivery.attempts, deliveredAt: delivery.deliveredAt ?? null, lastError: delivery.lastError ?? null });
    },
    async list(filter = {}) {
      const limit = Math.max(1, Math.min(filter.limit ?? 1000, 10_000));
      const rows = filter.scope === undefined
        ? database.prepare('SELECT * FROM budget_alerts ORDER BY id DESC LIMIT ?').all(limit)
        : database.prepare('SELECT * FROM budget_alerts WHERE scope = ? ORDER BY id DESC LIMIT ?').all(filter.scope, limit);
      return (rows as AlertRow[]).map(alertFromRow);
    },
  };
}
