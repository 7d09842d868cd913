// Governance alerts on PostgreSQL: shared by every replica, each with its delivery (host-only webhook, attempts, status).
import {
  governanceAlertColumns, governanceAlertFromRow, governanceAlertValues, type GovernanceAlertRow, type GovernanceAlertStore,
} from '../../alerts/store.js';
import { migratePostgres, type PostgresDatabase, type PostgresMigration } from './database.js';

const migrations: PostgresMigration[] = [
  {
    id: 'governance-alerts-001',
    sql: `
      CREATE TABLE governance_alerts (
        id BIGSERIAL PRIMARY KEY,
        kind TEXT NOT NULL,
        department TEXT,
        subject TEXT NOT NULL,
        message TEXT NOT NULL,
        evidence TEXT NOT NULL,
        time BIGINT NOT NULL,
        webhook TEXT,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        delivered_at BIGINT,
        last_error TEXT
      );
      CREATE INDEX governance_alerts_time ON governance_alerts (time);
      CREATE INDEX governance_alerts_department ON governance_alerts (department);
    `,
  },
];

export async function createPostgresGovernanceAlertStore(database: PostgresDatabase): Promise<GovernanceAlertStore> {
  await migratePostgres(database, migrations);
  const pool = database.pool;
  return {
    async record(alert) {
      const result = await pool.query<GovernanceAlertRow>(
        `INSERT INTO governance_alerts (${governanceAlertColumns.join(', ')}) VALUES (${governanceAlertColumns.map((_, index) => `$${index + 1}`).join(', ')}) RETURNING *`,
        governanceAlertValues(alert));
      return governanceAlertFromRow(result.rows[0] as GovernanceAlertRow);
    },
    async markDelivery(id, outcome) {
      await pool.query('UPDATE governance_alerts SET status = $1, attempts = $2, delivered_at = $3, last_error = COALESCE($4, last_error) WHERE id = $5',
        [outcome.status, outcome.attempts, outcome.deliveredAt ?? null, outcome.lastError ?? null, id]);
    },
    async list(filter = {}) {
      const conditions: string[] = [];
      const values: (string | number)[] = [];
      if (filter.department !== undefined) {
        values.push(filter.department);
        conditions.push(filter.organisation ? `(department = $${values.length} OR department IS NULL)` : `department = $${values.length}`);
      }
      if (filter.kinds && filter.kinds.length > 0) {
        const first = values.length + 1;
        values.push(...filter.kinds);
        conditions.push(`kind IN (${filter.kinds.map((_, index) => `$${first + index}`).join(', ')})`);
      }
      if (filter.since !== undefined) {
        values.push(filter.since);
        conditions.push(`time >= $${values.length}`);
      }
      values.push(Math.max(1, Math.min(filter.limit ?? 1000, 10_000)));
      const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
      const result = await pool.query<GovernanceAlertRow>(
        `SELECT * FROM governance_alerts ${where} ORDER BY time DESC, id DESC LIMIT $${values.length}`, values);
      return result.rows.map(governanceAlertFromRow);
    },
  };
}
