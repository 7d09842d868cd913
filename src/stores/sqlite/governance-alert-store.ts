// Governance alerts on SQLite: overdue reviews, suspensions, SLA breaches, model changes, drift and contract warnings, each with its delivery.
import { migrate, type Migration, type SqliteDatabase } from './database.js';
import {
  governanceAlertColumns, governanceAlertFromRow, governanceAlertValues, type GovernanceAlertRow, type GovernanceAlertStore,
} from '../../alerts/store.js';

export const governanceAlertMigrations: readonly Migration[] = [
  {
    id: 'governance-alerts-001',
    sql: `
      CREATE TABLE governance_alerts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        department TEXT,
        subject TEXT NOT NULL,
        message TEXT NOT NULL,
        evidence TEXT NOT NULL,
        time INTEGER NOT NULL,
        webhook TEXT,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        delivered_at INTEGER,
        last_error TEXT
      );
      CREATE INDEX governance_alerts_time ON governance_alerts (time);
      CREATE INDEX governance_alerts_department ON governance_alerts (department);
    `,
  },
];

export function createSqliteGovernanceAlertStore(database: SqliteDatabase): GovernanceAlertStore {
  migrate(database, governanceAlertMigrations);
  const insert = database.prepare(
    `INSERT INTO governance_alerts (${governanceAlertColumns.join(', ')}) VALUES (${governanceAlertColumns.map(() => '?').join(', ')})`);
  const byId = database.prepare<[number], GovernanceAlertRow>('SELECT * FROM governance_alerts WHERE id = ?');
  const delivery = database.prepare('UPDATE governance_alerts SET status = ?, attempts = ?, delivered_at = ?, last_error = COALESCE(?, last_error) WHERE id = ?');
  return {
    async record(alert) {
      const result = insert.run(...governanceAlertValues(alert));
      return governanceAlertFromRow(byId.get(Number(result.lastInsertRowid)) as GovernanceAlertRow);
    },
    async markDelivery(id, outcome) {
      delivery.run(outcome.status, outcome.attempts, outcome.deliveredAt ?? null, outcome.lastError ?? null, id);
    },
    async list(filter = {}) {
      const conditions: string[] = [];
      const values: (string | number)[] = [];
      if (filter.department !== undefined) {
        conditions.push(filter.organisation ? '(department = ? OR department IS NULL)' : 'department = ?');
        values.push(filter.department);
      }
      if (filter.kinds && filter.kinds.length > 0) {
        conditions.push(`kind IN (${filter.kinds.map(() => '?').join(', ')})`);
        values.push(...filter.kinds);
      }
      if (filter.since !== undefined) {
        conditions.push('time >= ?');
        values.push(filter.since);
      }
      const limit = Math.max(1, Math.min(filter.limit ?? 1000, 10_000));
      const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
      const rows = database.prepare(`SELECT * FROM governance_alerts ${where} ORDER BY time DESC, id DESC LIMIT ?`).all(...values, limit);
      return (rows as GovernanceAlertRow[]).map(governanceAlertFromRow);
    },
  };
}
