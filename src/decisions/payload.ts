// Decisions as the API answers them: the decision, its review state, and (for auditors only) its protected attributes.
import type { DecisionRecord, SlaBreach, SystemSuspension } from './store.js';

const iso = (time: number | null): string | null => (time === null ? null : new Date(time).toISOString());

/** A decision as POST /v1/decisions, GET /admin/reviews and the review answer show it; no protected attribute is in it. */
export function decisionPayload(record: DecisionRecord, now: number): Record<string, unknown> {
  const pending = record.status === 'pending_review';
  return {
    id: record.id,
    object: 'decision',
    system: record.system,
    department: record.department,
    subject_ref: record.subjectRef,
    recommendation: record.recommendation,
    score: record.score,
    model_version: record.modelVersion,
    adm: record.adm,
    status: record.status,
    final_outcome: record.finalOutcome,
    created_at: iso(record.createdAt),
    finalized_at: iso(record.finalizedAt),
    review: record.reviewReason === null ? null : {
      reason: record.reviewReason,
      due_at: iso(record.dueAt),
      overdue: pending && record.dueAt !== null && record.dueAt <= now,
      reviewer: record.reviewer,
      reviewed_by: record.reviewedBy,
      outcome: pending ? null : record.finalOutcome,
      rationale: record.rationale,
      reviewed_at: iso(record.reviewedAt),
      overridden: record.overridden,
      seconds: record.reviewedAt === null ? null : (record.reviewedAt - record.createdAt) / 1000,
    },
    hallucinated: record.hallucinated,
    outcome: record.outcome,
    outcome_at: iso(record.outcomeAt),
    explanation: record.explanation,
    features: record.features,
  };
}

/**
 * A decision as GET /admin/systems/:name/decisions lists it (what `covenant bias audit --system` reads);
 * `protected` only when the caller may see protected attributes.
 */
export function auditDecisionPayload(record: DecisionRecord, attributes: Record<string, string> | undefined | null): Record<string, unknown> {
  return {
    id: record.id, system: record.system, subject_ref: record.subjectRef, recommendation: record.recommendation, score: record.score,
    status: record.status, final_outcome: record.finalOutcome, outcome: record.outcome, model_version: record.modelVersion,
    time: new Date(record.createdAt).toISOString(),
    ...(attributes === null ? {} : { protected: attributes ?? {} }),
  };
}

export function suspensionPayload(suspension: SystemSuspension): Record<string, unknown> {
  return {
    system: suspension.system, department: suspension.department, status: suspension.resumedAt === null ? 'suspended' : 'resumed',
    reason: suspension.reason, evidence: suspension.evidence, suspended_at: iso(suspension.suspendedAt),
    resumed_at: iso(suspension.resumedAt), resumed_by: suspension.resumedBy, resume_reason: suspension.resumeReason,
  };
}

export function breachPayload(breach: SlaBreach): Record<string, unknown> {
  return {
    id: breach.id, system: breach.system, metric: breach.metric, model_version: breach.modelVersion, value: breach.value,
    threshold: breach.threshold, breached_at: iso(breach.breachedAt), evidence: breach.evidence,
    webhook: { url: breach.webhook, delivered: breach.deliveredAt !== null, attempts: breach.attempts, last_error: breach.lastError },
  };
}
