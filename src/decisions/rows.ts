// Decision oversight rows as both SQL stores read and write them: columns, row mapping, and the list filter's WHERE clause.
import type { DecisionFilter, DecisionRecord, NewDecision, SlaBreach, SystemSuspension } from './store.js';

type Cell = string | number | null;
/** A row as a SQL driver returns it (BIGINT columns may come back as strings). */
export type Row = Record<string, Cell>;

const optionalNumber = (value: Cell | undefined): number | null => (value === null || value === undefined ? null : Number(value));
const optionalBoolean = (value: Cell | undefined): boolean | null => (value === null || value === undefined ? null : Number(value) === 1);
const json = <T>(value: Cell | undefined): T | null => (value === null || value === undefined ? null : JSON.parse(String(value)) as T);

/** The columns of a new decision, in the order both SQL stores insert them. */
export const decisionColumns = [
  'id', 'system', 'department', 'subject_ref', 'recommendation', 'score', 'explanation', 'features', 'model_version', 'key_id', 'key_name',
  'adm', 'status', 'review_reason', 'due_at', 'created_at', 'final_outcome', 'finalized_at',
] as const;

export function decisionValues(decision: NewDecision): Cell[] {
  return [
    decision.id, decision.system, decision.department, decision.subjectRef, decision.recommendation, decision.score,
    decision.explanation === null ? null : JSON.stringify(decision.explanation), decision.features === null ? null : JSON.stringify(decision.features),
    decision.modelVersion, decision.keyId, decision.keyName, decision.adm, decision.status, decision.reviewReason, decision.dueAt,
    decision.createdAt, decision.finalOutcome, decision.finalizedAt,
  ];
}

export function decisionFromRow(row: Row): DecisionRecord {
  return {
    id: String(row.id), system: String(row.system), department: String(row.department), subjectRef: String(row.subject_ref),
    recommendation: String(row.recommendation), score: optionalNumber(row.score), explanation: json(row.explanation), features: json(row.features),
    modelVersion: String(row.model_version), keyId: String(row.key_id), keyName: String(row.key_name),
    adm: row.adm as DecisionRecord['adm'], status: row.status as DecisionRecord['status'], reviewReason: row.review_reason as string | null,
    dueAt: optionalNumber(row.due_at), createdAt: Number(row.created_at), finalOutcome: row.final_outcome as string | null,
    finalizedAt: optionalNumber(row.finalized_at), reviewer: row.reviewer as string | null, reviewedBy: row.reviewed_by as string | null,
    rationale: row.rationale as string | null, reviewedAt: optionalNumber(row.reviewed_at), overridden: Number(row.overridden) === 1,
    hallucinated: optionalBoolean(row.hallucinated), overdueAlertedAt: optionalNumber(row.overdue_alerted_at),
    outcome: row.outcome as string | null, outcomeAt: optionalNumber(row.outcome_at),
  };
}

/** The WHERE clause (and its values) of a list; `placeholder(n)` writes the n-th parameter (`?` or `$n`). */
export function decisionWhere(filter: DecisionFilter, placeholder: (index: number) => string): { where: string; values: Cell[] } {
  const conditions: string[] = [];
  const values: Cell[] = [];
  const add = (sql: (parameter: string) => string, value: Cell) => {
    values.push(value);
    conditions.push(sql(placeholder(values.length)));
  };
  if (filter.system !== undefined) add((parameter) => `system = ${parameter}`, filter.system);
  if (filter.systems !== undefined) {
    if (filter.systems.length === 0) conditions.push('1 = 0');
    else {
      const parameters = filter.systems.map((system) => {
        values.push(system);
        return placeholder(values.length);
      });
      conditions.push(`system IN (${parameters.join(', ')})`);
    }
  }
  if (filter.department) add((parameter) => `department = ${parameter}`, filter.department);
  if (filter.status !== undefined) add((parameter) => `status = ${parameter}`, filter.status);
  if (filter.dueBy !== undefined) add((parameter) => `status = 'pending_review' AND due_at <= ${parameter}`, filter.dueBy);
  if (filter.unalerted) conditions.push('overdue_alerted_at IS NULL');
  if (filter.reviewedSince !== undefined) add((parameter) => `reviewed_at IS NOT NULL AND reviewed_at >= ${parameter}`, filter.reviewedSince);
  if (filter.since !== undefined) add((parameter) => `created_at >= ${parameter}`, filter.since);
  if (filter.finalizedSince !== undefined) add((parameter) => `finalized_at IS NOT NULL AND finalized_at >= ${parameter}`, filter.finalizedSince);
  return { where: conditions.length === 0 ? 'TRUE' : conditions.join(' AND '), values };
}

export const listLimit = (filter: DecisionFilter): number => Math.max(1, Math.min(filter.limit ?? 1000, 100_000));

export function suspensionFromRow(row: Row): SystemSuspension {
  return {
    id: Number(row.id), system: String(row.system), department: String(row.department), reason: String(row.reason),
    evidence: json<Record<string, unknown>>(row.evidence) ?? {}, suspendedAt: Number(row.suspended_at), resumedAt: optionalNumber(row.resumed_at),
    resumedBy: row.resumed_by as string | null, resumeReason: row.resume_reason as string | null,
  };
}

export function breachFromRow(row: Row): SlaBreach {
  return {
    id: Number(row.id), system: String(row.system), department: String(row.department), metric: String(row.metric),
    modelVersion: String(row.model_version), value: Number(row.value), threshold: Number(row.threshold),
    evidence: json<Record<string, unknown>>(row.evidence) ?? {}, breachedAt: Number(row.breached_at), clearedAt: optionalNumber(row.cleared_at),
    webhook: row.webhook as string | null, attempts: Number(row.attempts), deliveredAt: optionalNumber(row.delivered_at),
    lastError: row.last_error as string | null,
  };
}

/** The tables' SQL: `serial`, `big` and `real` are each backend's column types. */
export function decisionTablesSql(types: { serial: string; big: string; real: string }): string {
  return `
    CREATE TABLE decisions (
      id TEXT PRIMARY KEY,
      system TEXT NOT NULL,
      department TEXT NOT NULL,
      subject_ref TEXT NOT NULL,
      recommendation TEXT NOT NULL,
      score ${types.real},
      explanation TEXT,
      features TEXT,
      model_version TEXT NOT NULL,
      key_id TEXT NOT NULL,
      key_name TEXT NOT NULL,
      adm TEXT NOT NULL,
      status TEXT NOT NULL,
      review_reason TEXT,
      due_at ${types.big},
      created_at ${types.big} NOT NULL,
      final_outcome TEXT,
      finalized_at ${types.big},
      reviewer TEXT,
      reviewed_by TEXT,
      rationale TEXT,
      reviewed_at ${types.big},
      overridden INTEGER NOT NULL DEFAULT 0,
      hallucinated INTEGER,
      overdue_alerted_at ${types.big},
      outcome TEXT,
      outcome_at ${types.big}
    );
    CREATE INDEX decisions_system_created ON decisions (system, created_at);
    CREATE INDEX decisions_pending ON decisions (status, due_at);
    CREATE TABLE decision_protected (
      decision_id TEXT PRIMARY KEY REFERENCES decisions (id),
      attributes TEXT NOT NULL
    );
    CREATE TABLE system_suspensions (
      id ${types.serial} PRIMARY KEY,
      system TEXT NOT NULL,
      department TEXT NOT NULL,
      reason TEXT NOT NULL,
      evidence TEXT NOT NULL,
      suspended_at ${types.big} NOT NULL,
      resumed_at ${types.big},
      resumed_by TEXT,
      resume_reason TEXT
    );
    CREATE UNIQUE INDEX system_suspensions_active ON system_suspensions (system) WHERE resumed_at IS NULL;
    CREATE TABLE sla_breaches (
      id ${types.serial} PRIMARY KEY,
      system TEXT NOT NULL,
      department TEXT NOT NULL,
      metric TEXT NOT NULL,
      model_version TEXT NOT NULL,
      value ${types.real} NOT NULL,
      threshold ${types.real} NOT NULL,
      evidence TEXT NOT NULL,
      breached_at ${types.big} NOT NULL,
      cleared_at ${types.big},
      webhook TEXT,
      attempts INTEGER NOT NULL DEFAULT 0,
      delivered_at ${types.big},
      last_error TEXT
    );
    CREATE UNIQUE INDEX sla_breaches_open ON sla_breaches (system, metric, model_version) WHERE cleared_at IS NULL;
  `;
}
