// The agent-loop breaker: admits or refuses each step of a session, suspends on a broken policy, records and alerts, resumes.
import { maskUrl } from '../core/secrets.js';
import { CovenantError } from '../core/errors.js';
import { formatMicros } from '../core/money.js';
import type { AgentPolicy } from '../config/resolve.js';
import type { LedgerEntryInput } from '../ledger/types.js';
import { deliverWebhook } from '../budgets/webhook.js';
import { decideStep, settleStep, stateTtl, suspendedState, type StepInput, type Trip } from './state.js';
import type { NewSuspension, SessionStateStore, SuspensionRecord, SuspensionStore } from './store.js';

/** One step as the stage hands it over: who, which session, which policy, and what to count. */
export interface SessionStep {
  session: string;
  /** The x-covenant-session header's value; null when the session is the conversation. */
  label: string | null;
  policy: AgentPolicy;
  department: string;
  keyId: string;
  keyName: string;
  requestId: string;
  input: Omit<StepInput, 'now' | 'requestId'>;
}

export interface SessionBreakerOptions {
  state: SessionStateStore;
  suspensions: SuspensionStore;
  /** Append a governance entry to the evidence ledger. */
  record: (entry: LedgerEntryInput) => Promise<void>;
  /** The config version an entry cites. */
  configVersion: () => string;
  clock?: () => number;
  fetch?: typeof fetch;
  /** Webhook delivery attempts, the first one immediate; the delay doubles from baseDelayMs. */
  maxAttempts?: number;
  baseDelayMs?: number;
  timeoutMs?: number;
  onError?: (error: unknown, where: string) => void;
}

/** How a session is named to people: its id, and the header value it came from. */
function sessionName(session: string, label: string | null): string {
  return label === null ? `${session} (this conversation)` : `${session} (x-covenant-session "${label}")`;
}

/** A trip's count against its limit, in the policy's unit. */
function countText(trip: Trip): string {
  if (trip.policy === 'max_session_usd') return `spent and reserved $${formatMicros(trip.count)}, limit $${formatMicros(trip.limit)}`;
  if (trip.policy === 'max_duration') return `ran ${trip.count} s, limit ${trip.limit} s`;
  return `count ${trip.count}, limit ${trip.limit}`;
}

/** The 403 every request of a suspended session gets: the policy, the count, and how a person resumes it. */
export function suspendedError(session: string, label: string | null, trip: Trip): CovenantError {
  return new CovenantError('agent_session_suspended',
    `Agent session ${sessionName(session, label)} is suspended by ${trip.message} (${countText(trip)}). `
    + `A person must resume it: POST /admin/sessions/${session}/resume or covenant sessions resume ${session} --reason TEXT.`);
}

/** A suspension as GET /admin/sessions lists it and the webhook posts it. */
export function suspensionPayload(record: SuspensionRecord): Record<string, unknown> {
  return {
    session: record.session, label: record.label, department: record.department, key: record.keyName, key_id: record.keyId,
    policy: record.policy, count: record.count, limit: record.limit, message: record.message, steps: record.steps,
    spent_usd: formatMicros(record.spentMicros), spent_micros: record.spentMicros, request_id: record.requestId,
    suspended_at: new Date(record.suspendedAt).toISOString(), status: record.resumedAt === null ? 'suspended' : 'resumed',
    resumed_at: record.resumedAt === null ? null : new Date(record.resumedAt).toISOString(), resumed_by: record.resumedBy, reason: record.reason,
    alert: { webhook: record.webhook === null ? null : maskUrl(record.webhook), delivered: record.deliveredAt !== null, attempts: record.attempts, last_error: record.lastError },
  };
}

/**
 * A suspension as an entry of GET /admin/alerts, beside the budget alerts: the session's webhook delivery in the same
 * fields (`failed` once every attempt has been made without success, `pending` while attempts remain).
 */
export function suspensionAlertEntry(record: SuspensionRecord, maxAttempts: number): Record<string, unknown> {
  const status = record.webhook === null ? 'none'
    : record.deliveredAt !== null ? 'delivered'
    : record.attempts >= maxAttempts ? 'failed' : 'pending';
  return {
    id: `session-${record.id}`, kind: 'session_suspended', session: record.session, label: record.label,
    department: record.department, key: record.keyName, key_id: record.keyId, policy: record.policy, count: record.count,
    limit: record.limit, message: record.message, time: new Date(record.suspendedAt).toISOString(),
    webhook: record.webhook === null ? null : maskUrl(record.webhook), status, delivered: record.deliveredAt !== null,
    delivered_at: record.deliveredAt === null ? null : new Date(record.deliveredAt).toISOString(),
    attempts: record.attempts, last_error: record.lastError,
  };
}

export class SessionBreaker {
  readonly #options: SessionBreakerOptions;
  readonly #clock: () => number;
  readonly #pending = new Set<Promise<void>>();

  constructor(options: SessionBreakerOptions) {
    this.#options = options;
    this.#clock = options.clock ?? Date.now;
  }

  /**
   * Count the step and reserve its worst case in one atomic change, or refuse it (403 agent_session_suspended).
   * Returns the output tokens the session's spend cap affords (null when it has none).
   */
  async admit(step: SessionStep): Promise<{ maxTokens: number | null }> {
    try {
      return await this.#admit(step);
    } catch (error) {
      if (error instanceof CovenantError) throw error;
      // Fail closed: a step that cannot be counted is not served.
      this.#options.onError?.(error, 'session store');
      const unavailable = new CovenantError('session_store_unavailable');
      unavailable.cause = error;
      throw unavailable;
    }
  }

  async #admit(step: SessionStep): Promise<{ maxTokens: number | null }> {
    const now = this.#clock();
    const input: StepInput = { ...step.input, now, requestId: step.requestId };
    const store = this.#options.state;
    let verdict = await store.update(step.session, (state) => decideStep(state, step.policy, input, false));
    if (verdict.kind === 'unknown') {
      // No hot state (a new session, or one idle long enough to expire): a suspension on record still holds.
      const active = await this.#options.suspensions.active(step.session);
      if (active) {
        const trip: Trip = { policy: active.policy as Trip['policy'], count: active.count, limit: active.limit, message: active.message, at: active.suspendedAt };
        await store.update(step.session, (state) => ({ state: state ? null : suspendedState(trip, now), ttlMs: stateTtl(step.policy), result: undefined }));
        throw suspendedError(step.session, step.label, trip);
      }
      verdict = await store.update(step.session, (state) => decideStep(state, step.policy, input, true));
    }
    switch (verdict.kind) {
      case 'admitted':
        return { maxTokens: verdict.maxTokens };
      case 'suspended':
        throw suspendedError(step.session, step.label, verdict.trip);
      case 'tripped':
        await this.#suspend(step, verdict.trip, verdict.state.steps, verdict.state.spentMicros);
        throw suspendedError(step.session, step.label, verdict.trip);
      default:
        throw new Error(`The session store decided nothing for ${step.session}`);
    }
  }

  /** End a step: charge what it cost (undefined: its worst case), or release its reservation when nothing was billed. */
  async settle(session: string, requestId: string, policy: AgentPolicy, outcome: { release: true } | { actualMicros?: number }): Promise<void> {
    await this.#options.state.update(session, (state) => settleStep(state, requestId, stateTtl(policy), outcome));
  }

  list(filter: { department?: string | null; resumed?: boolean; limit?: number } = {}): Promise<SuspensionRecord[]> {
    return this.#options.suspensions.list(filter);
  }

  /** Suspensions as alert entries (GET /admin/alerts), newest first. */
  async alerts(filter: { department?: string | null; limit: number }): Promise<Record<string, unknown>[]> {
    const records = await this.#options.suspensions.list({ department: filter.department, resumed: true, limit: filter.limit });
    return records.map((record) => suspensionAlertEntry(record, this.#options.maxAttempts ?? 5));
  }

  active(session: string): Promise<SuspensionRecord | undefined> {
    return this.#options.suspensions.active(session);
  }

  /** A person resumes a suspended session: on record with who and why; its counters start over. */
  async resume(session: string, by: string, reason: string): Promise<SuspensionRecord | undefined> {
    const record = await this.#options.suspensions.resume(session, { by, reason, at: this.#clock() });
    if (!record) return undefined;
    await this.#options.state.delete(session);
    await this.#options.record({
      kind: 'session.resumed', department: record.department, key: record.keyName, key_id: record.keyId, session,
      session_header: record.label, policy: record.policy, by, reason, config_version: this.#options.configVersion(),
    });
    return record;
  }

  /** Resolves when every alert delivery started so far has finished (for shutdown and tests). */
  async idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  async #suspend(step: SessionStep, trip: Trip, steps: number, spentMicros: number): Promise<void> {
    const suspension: NewSuspension = {
      session: step.session, label: step.label, department: step.department, keyId: step.keyId, keyName: step.keyName,
      policy: trip.policy, count: trip.count, limit: trip.limit, message: trip.message, steps, spentMicros,
      requestId: step.requestId, suspendedAt: trip.at, webhook: step.policy.webhook ?? null,
    };
    // Durable before the refusal goes out: a restart must find the session still suspended.
    const record = await this.#options.suspensions.suspend(suspension);
    if (!record) return;
    // The suspension is already durable; a ledger that cannot take its entry is reported, and the step still refused.
    await this.#options.record({
      kind: 'session.suspended', department: step.department, key: step.keyName, key_id: step.keyId, session: step.session,
      session_header: step.label, policy: trip.policy, count: trip.count, limit: trip.limit, message: trip.message,
      steps, spent_usd_micros: spentMicros, request_id: step.requestId, webhook: record.webhook === null ? null : maskUrl(record.webhook), config_version: this.#options.configVersion(),
    }).catch((error) => this.#options.onError?.(error, 'ledger session.suspended'));
    if (record.webhook) this.#track(this.#deliver(record));
  }

  #track(work: Promise<void>): void {
    const tracked = work.catch((error) => this.#options.onError?.(error, 'session alert')).finally(() => this.#pending.delete(tracked));
    this.#pending.add(tracked);
  }

  /**
   * Go on with the alert deliveries a stopped process left pending, from the attempt after its last one, for
   * suspensions made before `suspendedBefore`. Returns how many; they run in the background (idle waits for them).
   */
  async resumeDeliveries(suspendedBefore: number): Promise<number> {
    const maxAttempts = this.#options.maxAttempts ?? 5;
    const pending = (await this.#options.suspensions.list({ resumed: true, limit: 10_000 })).filter((record) =>
      record.webhook !== null && record.deliveredAt === null && record.attempts < maxAttempts && record.suspendedAt < suspendedBefore);
    for (const record of pending) this.#track(this.#deliver(record, record.attempts + 1));
    return pending.length;
  }

  async #deliver(record: SuspensionRecord, firstAttempt = 1): Promise<void> {
    const maxAttempts = this.#options.maxAttempts ?? 5;
    const failure = await deliverWebhook({
      fetch: this.#options.fetch ?? globalThis.fetch, url: record.webhook as string,
      body: JSON.stringify({ event: 'session.suspended', ...suspensionPayload(record) }),
      maxAttempts, firstAttempt, baseDelayMs: this.#options.baseDelayMs ?? 250, timeoutMs: this.#options.timeoutMs ?? 5000,
      onAttempt: (attempt, outcome) => this.#options.suspensions.markDelivery(record.id, outcome.delivered
        ? { attempts: attempt, deliveredAt: this.#clock() }
        : { attempts: attempt, lastError: outcome.error }),
    });
    if (failure !== undefined) throw new Error(`Session alert webhook ${maskUrl(record.webhook as string)} failed ${maxAttempts} times: ${failure}`);
  }
}
