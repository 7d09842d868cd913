// Governance alerts (overdue reviews, suspended systems, SLA breaches, model changes, material drift, contract warnings): the durable record and its store interface.

/** What a governance alert says happened. Budget alerts and session suspensions keep their own stores. */
export const governanceAlertKinds = [
  'review_overdue', 'system_suspended', 'sla_breach', 'fairness_breach', 'model_version_changed', 'material_drift', 'model_contract_warning',
] as const;
export type GovernanceAlertKind = (typeof governanceAlertKinds)[number];

/** Where an alert's webhook delivery stands; `none` when no webhook was configured. */
export type GovernanceDeliveryStatus = 'pending' | 'delivered' | 'failed' | 'none';

/** An alert as it is raised: what, whose, about what, and where it is posted (the host only is kept). */
export interface NewGovernanceAlert {
  kind: GovernanceAlertKind;
  /** The department whose system it concerns; null: organisation-wide (model aliases, drift, contracts). */
  department: string | null;
  /** What it is about: a decision id, a system name, an alias (with its version). */
  subject: string;
  message: string;
  /** A short summary of the evidence: figures and thresholds, never secrets, prompts or protected attributes. */
  evidence: Record<string, unknown>;
  /** Epoch ms. */
  time: number;
  /** The webhook as `maskUrl` shows it (scheme and host); null when none is configured. */
  webhook: string | null;
}

export interface GovernanceAlert extends NewGovernanceAlert {
  id: number;
  status: GovernanceDeliveryStatus;
  attempts: number;
  deliveredAt: number | null;
  lastError: string | null;
}

export interface GovernanceAlertDelivery {
  status: GovernanceDeliveryStatus;
  attempts: number;
  deliveredAt?: number;
  lastError?: string;
}

export interface GovernanceAlertFilter {
  /** Only these departments' alerts, plus organisation-wide ones when `organisation` is true. */
  department?: string;
  /** With `department`: also the organisation-wide alerts (department null). */
  organisation?: boolean;
  kinds?: readonly GovernanceAlertKind[];
  /** Epoch ms: alerts raised at or after it. */
  since?: number;
  limit?: number;
}

/** Persisted governance alerts with their delivery, shared by every replica. */
export interface GovernanceAlertStore {
  record(alert: NewGovernanceAlert): Promise<GovernanceAlert>;
  /** A delivery without `lastError` keeps the one before it: a delivered alert still says what its failed attempts met. */
  markDelivery(id: number, delivery: GovernanceAlertDelivery): Promise<void>;
  /** Newest first. */
  list(filter?: GovernanceAlertFilter): Promise<GovernanceAlert[]>;
}

/** A row as both the SQLite and PostgreSQL stores return it (BIGINT columns may come back as strings). */
export interface GovernanceAlertRow {
  id: number | string; kind: GovernanceAlertKind; department: string | null; subject: string; message: string; evidence: string;
  time: number | string; webhook: string | null; status: GovernanceDeliveryStatus; attempts: number | string;
  delivered_at: number | string | null; last_error: string | null;
}

export const governanceAlertColumns = ['kind', 'department', 'subject', 'message', 'evidence', 'time', 'webhook', 'status'] as const;

export function governanceAlertValues(alert: NewGovernanceAlert): (string | number | null)[] {
  return [alert.kind, alert.department, alert.subject, alert.message, JSON.stringify(alert.evidence), alert.time, alert.webhook, alert.webhook === null ? 'none' : 'pending'];
}

export function governanceAlertFromRow(row: GovernanceAlertRow): GovernanceAlert {
  return {
    id: Number(row.id), kind: row.kind, department: row.department, subject: row.subject, message: row.message,
    evidence: JSON.parse(row.evidence) as Record<string, unknown>, time: Number(row.time), webhook: row.webhook, status: row.status,
    attempts: Number(row.attempts), deliveredAt: row.delivered_at === null ? null : Number(row.delivered_at), lastError: row.last_error,
  };
}

/** A governance alert as an entry of GET /admin/alerts, in the delivery fields budget alerts and suspensions use. */
export function governanceAlertEntry(alert: GovernanceAlert): Record<string, unknown> {
  return {
    id: `${alert.kind}-${alert.id}`, kind: alert.kind, department: alert.department, subject: alert.subject, message: alert.message,
    evidence: alert.evidence, time: new Date(alert.time).toISOString(), webhook: alert.webhook, status: alert.status,
    delivered: alert.deliveredAt !== null, delivered_at: alert.deliveredAt === null ? null : new Date(alert.deliveredAt).toISOString(),
    attempts: alert.attempts, last_error: alert.lastError,
  };
}
