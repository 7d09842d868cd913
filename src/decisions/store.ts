// Decision oversight's durable records: decisions (with protected attributes kept apart), reviews, outcomes, system suspensions, SLA breaches.

export type DecisionStatus = 'final' | 'pending_review';

export interface Explanation {
  method: string;
  base_value: number;
  attributions: Record<string, number>;
}

/** A decision as the store keeps it; protected attributes are not part of it (see DecisionStore.protectedOf). */
export interface DecisionRecord {
  id: string;
  system: string;
  department: string;
  subjectRef: string;
  /** The model's recommendation, as sent (a number is kept as its text). */
  recommendation: string;
  score: number | null;
  explanation: Explanation | null;
  features: Record<string, unknown> | null;
  modelVersion: string;
  keyId: string;
  keyName: string;
  adm: 'solely_automated' | 'substantially_assisted';
  status: DecisionStatus;
  /** Why a person must review it; null when it was final at once. */
  reviewReason: string | null;
  /** When the review is due (epoch ms); null when no review is needed. */
  dueAt: number | null;
  createdAt: number;
  /** The outcome in force once final: the recommendation, or what the reviewer decided. */
  finalOutcome: string | null;
  finalizedAt: number | null;
  /** The person who signed off, as they named themselves, and the admin key that sent it. */
  reviewer: string | null;
  reviewedBy: string | null;
  rationale: string | null;
  reviewedAt: number | null;
  overridden: boolean;
  /** A reviewer's (or the ground truth's) label: the generated text was hallucinated; null when not labelled. */
  hallucinated: boolean | null;
  overdueAlertedAt: number | null;
  /** Ground truth, arriving later (POST /v1/decisions/:id/outcome). */
  outcome: string | null;
  outcomeAt: number | null;
}

export type NewDecision = Omit<DecisionRecord, 'finalOutcome' | 'finalizedAt' | 'reviewer' | 'reviewedBy' | 'rationale' | 'reviewedAt'
  | 'overridden' | 'hallucinated' | 'overdueAlertedAt' | 'outcome' | 'outcomeAt'> & { finalOutcome: string | null; finalizedAt: number | null };

export interface DecisionFilter {
  system?: string;
  /** Several systems (a department-scoped reader's); empty: none. */
  systems?: readonly string[];
  department?: string | null;
  status?: DecisionStatus;
  /** Only pending reviews due at or before this time. */
  dueBy?: number;
  /** Only decisions whose overdue alert has not been sent. */
  unalerted?: boolean;
  /** Only decisions a person reviewed (at or after this time when a number). */
  reviewedSince?: number;
  /** Only decisions made at or after this time. */
  since?: number;
  /** Only decisions finalized at or after this time. */
  finalizedSince?: number;
  limit?: number;
}

export interface Review {
  reviewer: string;
  by: string;
  outcome: string;
  rationale: string;
  at: number;
  overridden: boolean;
  hallucinated: boolean | null;
}

/** A system's scoring suspension by the live bias monitor, until a person lifts it. */
export interface SystemSuspension {
  id: number;
  system: string;
  department: string;
  reason: string;
  evidence: Record<string, unknown>;
  suspendedAt: number;
  resumedAt: number | null;
  resumedBy: string | null;
  resumeReason: string | null;
}

/** A performance SLA breach of one metric for one model version; open until the metric recovers. */
export interface SlaBreach {
  id: number;
  system: string;
  department: string;
  metric: string;
  modelVersion: string;
  value: number;
  threshold: number;
  evidence: Record<string, unknown>;
  breachedAt: number;
  clearedAt: number | null;
  webhook: string | null;
  attempts: number;
  deliveredAt: number | null;
  lastError: string | null;
}

export type NewSlaBreach = Omit<SlaBreach, 'id' | 'clearedAt' | 'attempts' | 'deliveredAt' | 'lastError'>;

/** Decisions and their oversight records, durable in SQLite (embedded) and PostgreSQL (distributed). */
export interface DecisionStore {
  /** Record a decision; its protected attributes go to their own table (null or {}: none). */
  insert(decision: NewDecision, protectedAttributes: Record<string, string> | null): Promise<DecisionRecord>;
  get(id: string): Promise<DecisionRecord | undefined>;
  /** Newest first. */
  list(filter?: DecisionFilter): Promise<DecisionRecord[]>;
  /** The protected attributes of these decisions, by decision id (readable by auditors only: the caller checks). */
  protectedOf(ids: readonly string[]): Promise<Map<string, Record<string, string>>>;
  /** A person's sign-off: makes a pending decision final with the reviewer's outcome; undefined when it was not pending. */
  review(id: string, review: Review): Promise<DecisionRecord | undefined>;
  /** The ground truth (and optionally a hallucination label); undefined for an unknown decision. */
  recordOutcome(id: string, outcome: { outcome: string; hallucinated?: boolean; at: number }): Promise<DecisionRecord | undefined>;
  /** Claim the overdue alert of a pending decision: true once, for the caller that should alert. */
  claimOverdueAlert(id: string, at: number): Promise<boolean>;

  /** Record a suspension; undefined when the system already has an active one. */
  suspendSystem(suspension: Omit<SystemSuspension, 'id' | 'resumedAt' | 'resumedBy' | 'resumeReason'>): Promise<SystemSuspension | undefined>;
  activeSuspension(system: string): Promise<SystemSuspension | undefined>;
  /** The latest suspension of the system, active or lifted. */
  lastSuspension(system: string): Promise<SystemSuspension | undefined>;
  resumeSystem(system: string, resumption: { by: string; reason: string; at: number }): Promise<SystemSuspension | undefined>;

  /** Open a breach; undefined when one is already open for the system, metric and model version. */
  openBreach(breach: NewSlaBreach): Promise<SlaBreach | undefined>;
  /** Open breaches of a system (all systems when undefined). */
  openBreaches(system?: string): Promise<SlaBreach[]>;
  clearBreach(id: number, at: number): Promise<void>;
  markBreachDelivery(id: number, delivery: { attempts: number; deliveredAt?: number; lastError?: string }): Promise<void>;
}
