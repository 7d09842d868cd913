// Budget alerts on PostgreSQL: one row per (counter, kind, threshold), so every replica records an alert once between them, with its delivery.
import { alertFromRow, alertInsertValues, type AlertDelivery, type AlertEvent, type AlertRow, type AlertStore } from '../../budgets/alerts.js';
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
  {
    // Burn-rate alerts share the table: the kind joins the unique key, and each row keeps its delivery status.
    id: 'alerts-002-kinds',
    sql: `
      ALTER TABLE budget_alerts ADD COLUMN kind TEXT NOT NULL DEFAULT 'threshold';
      ALTER TABLE budget_alerts ADD COLUMN projected_at BIGINT;
      ALTER TABLE budget_alerts ADD COLUMN rate_per_hour BIGINT;
      ALTER TABLE budget_alerts ADD COLUMN baseline_per_hour BIGINT;
      ALTER TABLE budget_alerts ADD COLUMN status TEXT NOT NULL DEFAULT 'pending';
      UPDATE budget_alerts SET status = CASE WHEN delivered_at IS NOT NULL THEN 'delivered' WHEN webhook IS NULL THEN 'none' ELSE 'failed' END;
      ALTER TABLE budget_alerts DROP CONSTRAINT budget_alerts_counter_key_threshold_key;
      ALTER TABLE budget_alerts ADD CONSTRAINT budget_alerts_counter_key_kind_threshold_key UNIQUE (counter_key, kind, threshold);
    `,
  },
];

export async function createPostgresAlertStore(database: PostgresDatabase): Promise<AlertStore> {
  await migratePostgres(database, migrations);
  const pool = database.pool;
  return {
    async record(event: AlertEvent) {
      const values = alertInsertValues(event);
      const result = await pool.query<AlertRow>(
        `INSERT INTO budget_alerts (kind, counter_key, scope, unit, period, window_key, threshold, spent, budget_limit, period_start,
           period_end, time, webhook, status, projected_at, rate_per_hour, baseline_per_hour)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
         ON CONFLICT (counter_key, kind, threshold) DO NOTHING RETURNING *`,
        [values.kind, values.counterKey, values.scope, values.unit, values.period, values.windowKey, values.threshold, values.spent,
          values.limit, values.periodStart, values.periodEnd, values.time, values.webhook, values.status, values.projectedAt,
          values.ratePerHour, values.baselinePerHour],
      );
      return result.rows[0] ? alertFromRow(result.rows[0]) : undefined;
    },
    async markDelivery(id: number, delivery: AlertDelivery) {
      await pool.query('UPDATE budget_alerts SET status = $1, attempts = $2, delivered_at = $3, last_error = $4 WHERE id = $5',
        [delivery.status, delivery.attempts, delivery.deliveredAt ?? null, delivery.lastError ?? null, id]);
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
