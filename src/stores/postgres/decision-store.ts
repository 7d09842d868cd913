// Decision oversight on PostgreSQL: shared by replicas; protected attributes in their own table; one active suspension and open breach each.
import {
  breachFromRow, decisionColumns, decisionFromRow, decisionTablesSql, decisionValues, decisionWhere, listLimit, suspensionFromRow, type Row,
} from '../../decisions/rows.js';
import type { DecisionStore } from '../../decisions/store.js';
import { inTransaction, migratePostgres, type PostgresDatabase, type PostgresMigration } from './database.js';

const migrations: PostgresMigration[] = [
  { id: 'decisions-001-tables', sql: decisionTablesSql({ serial: 'BIGSERIAL', big: 'BIGINT', real: 'DOUBLE PRECISION' }) },
];

export async function createPostgresDecisionStore(database: PostgresDatabase): Promise<DecisionStore> {
  await migratePostgres(database, migrations);
  const pool = database.pool;
  const one = async (sql: string, values: unknown[]): Promise<Row | undefined> => (await pool.query<Row>(sql, values)).rows[0];
  return {
    async insert(decision, protectedAttributes) {
      const attributes = protectedAttributes && Object.keys(protectedAttributes).length > 0 ? JSON.stringify(protectedAttributes) : null;
      const row = await inTransaction(pool, async (client) => {
        const inserted = await client.query<Row>(
          `INSERT INTO decisions (${decisionColumns.join(', ')}) VALUES (${decisionColumns.map((_, index) => `$${index + 1}`).join(', ')}) RETURNING *`,
          decisionValues(decision));
        if (attributes !== null) await client.query('INSERT INTO decision_protected (decision_id, attributes) VALUES ($1, $2)', [decision.id, attributes]);
        return inserted.rows[0]!;
      });
      return decisionFromRow(row);
    },
    async get(id) {
      const row = await one('SELECT * FROM decisions WHERE id = $1', [id]);
      return row ? decisionFromRow(row) : undefined;
    },
    async list(filter = {}) {
      const { where, values } = decisionWhere(filter, (index) => `$${index}`);
      const result = await pool.query<Row>(`SELECT * FROM decisions WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT $${values.length + 1}`,
        [...values, listLimit(filter)]);
      return result.rows.map(decisionFromRow);
    },
    async protectedOf(ids) {
      const found = new Map<string, Record<string, string>>();
      if (ids.length === 0) return found;
      const result = await pool.query<Row>('SELECT decision_id, attributes FROM decision_protected WHERE decision_id = ANY($1)', [ids]);
      for (const row of result.rows) found.set(String(row.decision_id), JSON.parse(String(row.attributes)) as Record<string, string>);
      return found;
    },
    async review(id, entry) {
      const row = await one(`UPDATE decisions SET status = 'final', final_outcome = $1, finalized_at = $2, reviewer = $3, reviewed_by = $4,
        rationale = $5, reviewed_at = $2, overridden = $6, hallucinated = COALESCE($7, hallucinated) WHERE id = $8 AND status = 'pending_review' RETURNING *`,
      [entry.outcome, entry.at, entry.reviewer, entry.by, entry.rationale, entry.overridden ? 1 : 0, entry.hallucinated === null ? null : entry.hallucinated ? 1 : 0, id]);
      return row ? decisionFromRow(row) : undefined;
    },
    async recordOutcome(id, entry) {
      const row = await one('UPDATE decisions SET outcome = $1, outcome_at = $2, hallucinated = COALESCE($3, hallucinated) WHERE id = $4 RETURNING *',
        [entry.outcome, entry.at, entry.hallucinated === undefined ? null : entry.hallucinated ? 1 : 0, id]);
      return row ? decisionFromRow(row) : undefined;
    },
    async claimOverdueAlert(id, at) {
      const result = await pool.query(`UPDATE decisions SET overdue_alerted_at = $1 WHERE id = $2 AND overdue_alerted_at IS NULL AND status = 'pending_review'`, [at, id]);
      return result.rowCount === 1;
    },
    async suspendSystem(suspension) {
      const row = await one(`INSERT INTO system_suspensions (system, department, reason, evidence, suspended_at) VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (system) WHERE resumed_at IS NULL DO NOTHING RETURNING *`,
      [suspension.system, suspension.department, suspension.reason, JSON.stringify(suspension.evidence), suspension.suspendedAt]);
      return row ? suspensionFromRow(row) : undefined;
    },
    async activeSuspension(system) {
      const row = await one('SELECT * FROM system_suspensions WHERE system = $1 AND resumed_at IS NULL', [system]);
      return row ? suspensionFromRow(row) : undefined;
    },
    async lastSuspension(system) {
      const row = await one('SELECT * FROM system_suspensions WHERE system = $1 ORDER BY id DESC LIMIT 1', [system]);
      return row ? suspensionFromRow(row) : undefined;
    },
    async resumeSystem(system, resumption) {
      const row = await one('UPDATE system_suspensions SET resumed_at = $1, resumed_by = $2, resume_reason = $3 WHERE system = $4 AND resumed_at IS NULL RETURNING *',
        [resumption.at, resumption.by, resumption.reason, system]);
      return row ? suspensionFromRow(row) : undefined;
    },
    async openBreach(breach) {
      const row = await one(`INSERT INTO sla_breaches (system, department, metric, model_version, value, threshold, evidence, breached_at, webhook)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (system, metric, model_version) WHERE cleared_at IS NULL DO NOTHING RETURNING *`,
      [breach.system, breach.department, breach.metric, breach.modelVersion, breach.value, breach.threshold, JSON.stringify(breach.evidence), breach.breachedAt, breach.webhook]);
      return row ? breachFromRow(row) : undefined;
    },
    async openBreaches(system) {
      const result = system === undefined
        ? await pool.query<Row>('SELECT * FROM sla_breaches WHERE cleared_at IS NULL ORDER BY id')
        : await pool.query<Row>('SELECT * FROM sla_breaches WHERE cleared_at IS NULL AND system = $1 ORDER BY id', [system]);
      return result.rows.map(breachFromRow);
    },
    async clearBreach(id, at) {
      await pool.query('UPDATE sla_breaches SET cleared_at = $1 WHERE id = $2 AND cleared_at IS NULL', [at, id]);
    },
    async markBreachDelivery(id, delivery) {
      await pool.query('UPDATE sla_breaches SET attempts = $1, delivered_at = $2, last_error = $3 WHERE id = $4',
        [delivery.attempts, delivery.deliveredAt ?? null, delivery.lastError ?? null, id]);
    },
  };
}
