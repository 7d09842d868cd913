// Decision oversight on SQLite: decisions, protected attributes (their own table), reviews, outcomes, suspensions, SLA breaches.
import { migrate, type Migration, type SqliteDatabase } from './database.js';
import {
  breachFromRow, decisionColumns, decisionFromRow, decisionTablesSql, decisionValues, decisionWhere, listLimit, suspensionFromRow, type Row,
} from '../../decisions/rows.js';
import type { DecisionStore } from '../../decisions/store.js';

export const decisionMigrations: readonly Migration[] = [
  { id: 'decisions-001-tables', sql: decisionTablesSql({ serial: 'INTEGER', big: 'INTEGER', real: 'REAL' }).replace('id INTEGER PRIMARY KEY', 'id INTEGER PRIMARY KEY AUTOINCREMENT') },
];

export function createSqliteDecisionStore(database: SqliteDatabase): DecisionStore {
  migrate(database, decisionMigrations);
  const insert = database.prepare(`INSERT INTO decisions (${decisionColumns.join(', ')}) VALUES (${decisionColumns.map(() => '?').join(', ')})`);
  const insertProtected = database.prepare('INSERT INTO decision_protected (decision_id, attributes) VALUES (?, ?)');
  const byId = database.prepare<[string], Row>('SELECT * FROM decisions WHERE id = ?');
  const review = database.prepare(`UPDATE decisions SET status = 'final', final_outcome = ?, finalized_at = ?, reviewer = ?, reviewed_by = ?,
    rationale = ?, reviewed_at = ?, overridden = ?, hallucinated = COALESCE(?, hallucinated) WHERE id = ? AND status = 'pending_review'`);
  const outcome = database.prepare('UPDATE decisions SET outcome = ?, outcome_at = ?, hallucinated = COALESCE(?, hallucinated) WHERE id = ?');
  const claim = database.prepare(`UPDATE decisions SET overdue_alerted_at = ? WHERE id = ? AND overdue_alerted_at IS NULL AND status = 'pending_review'`);
  const suspend = database.prepare(`INSERT INTO system_suspensions (system, department, reason, evidence, suspended_at) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (system) WHERE resumed_at IS NULL DO NOTHING`);
  const suspensionById = database.prepare<[number], Row>('SELECT * FROM system_suspensions WHERE id = ?');
  const activeSuspension = database.prepare<[string], Row>('SELECT * FROM system_suspensions WHERE system = ? AND resumed_at IS NULL');
  const lastSuspension = database.prepare<[string], Row>('SELECT * FROM system_suspensions WHERE system = ? ORDER BY id DESC LIMIT 1');
  const resume = database.prepare('UPDATE system_suspensions SET resumed_at = ?, resumed_by = ?, resume_reason = ? WHERE id = ?');
  const openBreach = database.prepare(`INSERT INTO sla_breaches (system, department, metric, model_version, value, threshold, evidence, breached_at, webhook)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (system, metric, model_version) WHERE cleared_at IS NULL DO NOTHING`);
  const breachById = database.prepare<[number], Row>('SELECT * FROM sla_breaches WHERE id = ?');
  const clearBreach = database.prepare('UPDATE sla_breaches SET cleared_at = ? WHERE id = ? AND cleared_at IS NULL');
  const breachDelivery = database.prepare('UPDATE sla_breaches SET attempts = ?, delivered_at = ?, last_error = ? WHERE id = ?');
  const insertBoth = database.transaction((values: (string | number | null)[], id: string, attributes: string | null) => {
    insert.run(...values);
    if (attributes !== null) insertProtected.run(id, attributes);
  });
  return {
    async insert(decision, protectedAttributes) {
      const attributes = protectedAttributes && Object.keys(protectedAttributes).length > 0 ? JSON.stringify(protectedAttributes) : null;
      insertBoth(decisionValues(decision), decision.id, attributes);
      return decisionFromRow(byId.get(decision.id) as Row);
    },
    async get(id) {
      const row = byId.get(id);
      return row ? decisionFromRow(row) : undefined;
    },
    async list(filter = {}) {
      const { where, values } = decisionWhere(filter, () => '?');
      const rows = database.prepare(`SELECT * FROM decisions WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT ?`).all(...values, listLimit(filter));
      return (rows as Row[]).map(decisionFromRow);
    },
    async protectedOf(ids) {
      const found = new Map<string, Record<string, string>>();
      for (let start = 0; start < ids.length; start += 500) {
        const batch = ids.slice(start, start + 500);
        const rows = database.prepare(`SELECT decision_id, attributes FROM decision_protected WHERE decision_id IN (${batch.map(() => '?').join(', ')})`).all(...batch) as Row[];
        for (const row of rows) found.set(String(row.decision_id), JSON.parse(String(row.attributes)) as Record<string, string>);
      }
      return found;
    },
    async review(id, entry) {
      const result = review.run(entry.outcome, entry.at, entry.reviewer, entry.by, entry.rationale, entry.at, entry.overridden ? 1 : 0,
        entry.hallucinated === null ? null : entry.hallucinated ? 1 : 0, id);
      if (result.changes === 0) return undefined;
      return decisionFromRow(byId.get(id) as Row);
    },
    async recordOutcome(id, entry) {
      const result = outcome.run(entry.outcome, entry.at, entry.hallucinated === undefined ? null : entry.hallucinated ? 1 : 0, id);
      if (result.changes === 0) return undefined;
      return decisionFromRow(byId.get(id) as Row);
    },
    async claimOverdueAlert(id, at) {
      return claim.run(at, id).changes === 1;
    },
    async suspendSystem(suspension) {
      const result = suspend.run(suspension.system, suspension.department, suspension.reason, JSON.stringify(suspension.evidence), suspension.suspendedAt);
      if (result.changes === 0) return undefined;
      return suspensionFromRow(suspensionById.get(Number(result.lastInsertRowid)) as Row);
    },
    async activeSuspension(system) {
      const row = activeSuspension.get(system);
      return row ? suspensionFromRow(row) : undefined;
    },
    async lastSuspension(system) {
      const row = lastSuspension.get(system);
      return row ? suspensionFromRow(row) : undefined;
    },
    async resumeSystem(system, resumption) {
      const row = activeSuspension.get(system);
      if (!row) return undefined;
      resume.run(resumption.at, resumption.by, resumption.reason, Number(row.id));
      return suspensionFromRow(suspensionById.get(Number(row.id)) as Row);
    },
    async openBreach(breach) {
      const result = openBreach.run(breach.system, breach.department, breach.metric, breach.modelVersion, breach.value, breach.threshold,
        JSON.stringify(breach.evidence), breach.breachedAt, breach.webhook);
      if (result.changes === 0) return undefined;
      return breachFromRow(breachById.get(Number(result.lastInsertRowid)) as Row);
    },
    async openBreaches(system) {
      const rows = system === undefined
        ? database.prepare('SELECT * FROM sla_breaches WHERE cleared_at IS NULL ORDER BY id').all()
        : database.prepare('SELECT * FROM sla_breaches WHERE cleared_at IS NULL AND system = ? ORDER BY id').all(system);
      return (rows as Row[]).map(breachFromRow);
    },
    async clearBreach(id, at) {
      clearBreach.run(at, id);
    },
    async markBreachDelivery(id, delivery) {
      breachDelivery.run(delivery.attempts, delivery.deliveredAt ?? null, delivery.lastError ?? null, id);
    },
  };
}
