// Budget alerts on SQLite: one row per (counter, threshold), so a crossing is recorded once across processes.
import { migrate, type Migration, type SqliteDatabase } from './database.js';
import { alertFromRow, type AlertDelivery, type AlertEvent, type AlertRow, type AlertStore } from '../../budgets/alerts.js';

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
];

export function createSqliteAlertStore(database: SqliteDatabase): AlertStore {
  migrate(database, alertMigrations);
  const insert = database.prepare(
    `INSERT INTO budget_alerts (counter_key, scope, unit, period, window_key, threshold, spent, budget_limit,
       period_start, period_end, time, webhook)
     VALUES (@counterKey, @scope, @unit, @period, @windowKey, @threshold, @spent, @limit,
       @periodStart, @periodEnd, @time, @webhook)
     ON CONFLICT (counter_key, threshold) DO NOTHING`);
  const byId = database.prepare<[number], AlertRow>('SELECT * FROM budget_alerts WHERE id = ?');
  const update = database.prepare(
    'UPDATE budget_alerts SET attempts = @attempts, delivered_at = @deliveredAt, last_error = @lastError WHERE id = @id');

  return {
    async record(event: AlertEvent) {
      const result = insert.run({ ...event, webhook: event.webhook ?? null });
      if (result.changes === 0) return undefined;
      return alertFromRow(byId.get(Number(result.lastInsertRowid)) as AlertRow);
    },
    async markDelivery(id: number, delivery: AlertDelivery) {
      update.run({ id, attempts: delivery.attempts, deliveredAt: delivery.deliveredAt ?? null, lastError: delivery.lastError ?? null });
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
