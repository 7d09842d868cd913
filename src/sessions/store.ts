// The agent-loop breaker's storage contracts: hot per-session counters (shared by replicas) and durable suspension records.
import type { SessionState } from './state.js';

/** What one atomic change of a session's state writes and returns. */
export interface StateChange<T> {
  /** The new state; null writes nothing. */
  state: SessionState | null;
  /** Milliseconds the written state lives without another change. */
  ttlMs: number;
  result: T;
}

/**
 * Hot per-session state: a memory map in embedded mode, Redis when replicas share it. `update` reads, applies
 * `change` and writes as one atomic step (nothing changes the state between the read and the write), so concurrent
 * steps of one session cannot both take the last step or the last dollar. `change` must be pure: a store may run it
 * again on a newer state when another step got there first.
 */
export interface SessionStateStore {
  update<T>(session: string, change: (state: SessionState | undefined) => StateChange<T>): Promise<T>;
  get(session: string): Promise<SessionState | undefined>;
  delete(session: string): Promise<void>;
  close(): Promise<void>;
}

/** A suspension as the durable store keeps it: why, when, and (once a person resumed it) who and why. */
export interface SuspensionRecord {
  id: number;
  session: string;
  /** The x-covenant-session header's value; null for a session derived from the conversation. */
  label: string | null;
  department: string;
  keyId: string;
  keyName: string;
  /** The policy that tripped: max_steps, max_session_usd, max_identical_requests, max_repeated_tool_calls, max_duration. */
  policy: string;
  count: number;
  limit: number;
  message: string;
  steps: number;
  spentMicros: number;
  requestId: string;
  suspendedAt: number;
  resumedAt: number | null;
  resumedBy: string | null;
  reason: string | null;
  webhook: string | null;
  attempts: number;
  deliveredAt: number | null;
  lastError: string | null;
}

export type NewSuspension = Omit<SuspensionRecord, 'id' | 'resumedAt' | 'resumedBy' | 'reason' | 'attempts' | 'deliveredAt' | 'lastError'>;

/** Durable suspensions (SQLite embedded, PostgreSQL distributed): a suspended session stays suspended across restarts. */
export interface SuspensionStore {
  /** Record a suspension; undefined when the session already has an active one (another replica got there first). */
  suspend(suspension: NewSuspension): Promise<SuspensionRecord | undefined>;
  /** The session's active (not resumed) suspension. */
  active(session: string): Promise<SuspensionRecord | undefined>;
  /** Newest first; `department` narrows to one tenant; resumed ones only when `resumed` is true. */
  list(filter?: { department?: string | null; resumed?: boolean; limit?: number }): Promise<SuspensionRecord[]>;
  /** Mark the active suspension resumed; undefined when there is none. */
  resume(session: string, resumption: { by: string; reason: string; at: number }): Promise<SuspensionRecord | undefined>;
  markDelivery(id: number, delivery: { attempts: number; deliveredAt?: number; lastError?: string }): Promise<void>;
}

/** A suspension row as both SQL stores return it (BIGINT columns may come back as strings). */
export interface SuspensionRow {
  id: number | string; session: string; label: string | null; department: string; key_id: string; key_name: string;
  policy: string; count: number | string; session_limit: number | string; message: string; steps: number | string;
  spent_micros: number | string; request_id: string; suspended_at: number | string; resumed_at: number | string | null;
  resumed_by: string | null; reason: string | null; webhook: string | null; attempts: number | string;
  delivered_at: number | string | null; last_error: string | null;
}

const optionalNumber = (value: number | string | null): number | null => (value === null ? null : Number(value));

export function suspensionFromRow(row: SuspensionRow): SuspensionRecord {
  return {
    id: Number(row.id), session: row.session, label: row.label, department: row.department, keyId: row.key_id, keyName: row.key_name,
    policy: row.policy, count: Number(row.count), limit: Number(row.session_limit), message: row.message, steps: Number(row.steps),
    spentMicros: Number(row.spent_micros), requestId: row.request_id, suspendedAt: Number(row.suspended_at),
    resumedAt: optionalNumber(row.resumed_at), resumedBy: row.resumed_by, reason: row.reason, webhook: row.webhook,
    attempts: Number(row.attempts), deliveredAt: optionalNumber(row.delivered_at), lastError: row.last_error,
  };
}

/** The columns of a new suspension, in the order both SQL stores insert them. */
export const suspensionColumns = [
  'session', 'label', 'department', 'key_id', 'key_name', 'policy', 'count', 'session_limit', 'message', 'steps', 'spent_micros',
  'request_id', 'suspended_at', 'webhook',
] as const;

export function suspensionValues(suspension: NewSuspension): (string | number | null)[] {
  return [
    suspension.session, suspension.label, suspension.department, suspension.keyId, suspension.keyName, suspension.policy,
    suspension.count, suspension.limit, suspension.message, suspension.steps, suspension.spentMicros, suspension.requestId,
    suspension.suspendedAt, suspension.webhook,
  ];
}
