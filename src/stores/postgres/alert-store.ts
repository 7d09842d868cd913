// Budget alerts on PostgreSQL: one row per (counter, threshold), so every replica records a crossing once between them.
import { alertFromRow, type AlertDelivery, type AlertEvent, type AlertRow, type AlertStore } from '../../budgets/alerts.js';
import { migratePostgres, type PostgresDatabase, type PostgresMigration } from './database.js';

const migrations: PostgresMigration[] = [
  {
    id: 'alerts-001',
    sql: `
      CREATE TABLE budget_alerts (
        id BIGSERIAL PRIMARY KEY,
        counter_key TEXT NOT NULL,
        scope TEXT NOT NULL,
        unit TEXT NOT NULL,
        period TEXT NOT NULL,
        window_key TEXT NOT NULL,
        threshold DOUBLE PRECISION NOT NULL,
        spent BIGINT NOT NULL,
        budget_limit BIGINT NOT NULL,
        period_start BIGINT NOT NULL,
        period_end BIGINT NOT NULL,
        time BIGINT NOT NULL,
        webhook TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        delivered_at BIGINT,
        last_error TEXT,
        UNIQUE (counter_key, threshold)
      );
      CREATE INDEX budget_alerts_scope ON budget_alerts (scope);
    `,
  },
];

export async function createPostgresAlertStore(database: PostgresDatabase): Promise<AlertStore> {
  await migratePostgres(database, migrations);
  const pool = database.pool;
  return {
    async record(event: AlertEvent) {
      const result = await pool.query<AlertRow>(
        `INSERT INTO budget_alerts (counter_key, scope, unit, period, window_key, threshold, spent, budget_limit, period_start, period_end, time, webhook)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (counter_key, threshold) DO NOTHING RETURNING *`,
        [event.counterKey, event.scope, event.unit, event.period, event.windowKey, event.threshold, event.spent, event.limit,
          event.periodStart, event.periodEnd, event.time, event.webhook ?? null],
      );
      return result.rows[0] ? alertFromRow(result.rows[0]) : undefined;
    },
    async markDelivery(id: number, delivery: AlertDelivery) {
      await pool.query('UPDATE budget_alerts SET attempts = $1, delivered_at = $2, last_error = $3 WHERE id = $4',
        [delivery.attempts, delivery.deliveredAt ?? null, delivery.lastError ?? null, id]);
    },
    async list(filter = {}) {
      const limit = Math.max(1, Math.min(filter.limit ?? 1000, 10_000));
      const result = filter.scope === undefined
        ? await pool.query<AlertRow>('SELECT * FROM budget_alerts ORDER BY id DESC LIMIT $1', [limit])
        : await pool.query<AlertRow>('SELECT * FROM budget_alerts WHERE scope = $1 ORDER BY id DESC LIMIT $2', [filter.scope, limit]);
      return result.rows.map(alertFromRow);
    },
  };
}
