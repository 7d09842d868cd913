// Budget alerts: threshold crossings and burn rates after each settle, each recorded once per budget window, POSTed to webhooks with retries.
import { maskUrl } from '../core/secrets.js';
import type { AlertsConfig } from '../config/schema.js';
import type { BudgetUnit } from '../core/budget-math.js';
import type { Period } from '../core/budget-types.js';
import { rateJumped } from '../core/burn-rate.js';
import { formatMicros } from '../core/money.js';
import { RecencyMap } from '../core/recency-map.js';
import { burnRateWindows, type BurnRateTracker } from './burn-rate.js';
import { deliverWebhook, deliveryScheduleMs } from './webhook.js';

/**
 * What an alert says: a threshold was crossed; the recent spend rate runs the budget out before its period ends;
 * or the recent rate jumped well above its trailing baseline (a sudden loop).
 */
export type AlertKind = 'threshold' | 'projected_exhaustion' | 'rate_jump';

/** Where an alert's webhook delivery stands; `none` when no webhook was configured. */
export type DeliveryStatus = 'pending' | 'delivered' | 'failed' | 'none';

/** An alert of one budget in one window: a threshold crossing or a burn rate. */
export interface AlertEvent {
  /** Absent: threshold (alerts recorded before burn rates existed). */
  kind?: AlertKind;
  counterKey: string;
  /** The budget's scope in its string form (core/scope.ts), as its counter names it. */
  scope: string;
  unit: BudgetUnit;
  period: Period;
  windowKey: string;
  /** The threshold crossed; 0 for burn-rate kinds. */
  threshold: number;
  /** Burn-rate kinds: when the budget runs out at the recent rate (epoch ms); absent when not before the period ends. */
  projectedAt?: number;
  /** Burn-rate kinds: the recent and the baseline spend per hour (micros or tokens). */
  ratePerHour?: number;
  baselinePerHour?: number;
  /** Micros (usd) or tokens, at the moment of the crossing. */
  spent: number;
  limit: number;
  periodStart: number;
  periodEnd: number;
  /** Epoch ms of the crossing. */
  time: number;
  webhook?: string;
  /** The webhook body's shape; default json. Not stored: it applies to this delivery. */
  format?: 'json' | 'slack';
}

export interface AlertRecord extends AlertEvent {
  id: number;
  kind: AlertKind;
  status: DeliveryStatus;
  attempts: number;
  deliveredAt?: number;
  lastError?: string;
}

export interface AlertDelivery {
  status: DeliveryStatus;
  attempts: number;
  deliveredAt?: number;
  lastError?: string;
}

/** Persisted alerts, unique per (counterKey, kind, threshold) across every process sharing the store. */
export interface AlertStore {
  /** The new record, or undefined when this crossing was already recorded (by this or another process). */
  record(event: AlertEvent): Promise<AlertRecord | undefined>;
  markDelivery(id: number, delivery: AlertDelivery): Promise<void>;
  /** Newest first. */
  list(filter?: { scope?: string; limit?: number }): Promise<AlertRecord[]>;
}

/** An alert as both the SQLite and the PostgreSQL alert stores keep it (BIGINT columns may come back as strings). */
export interface AlertRow {
  id: number | string; kind: AlertKind; counter_key: string; scope: string; unit: AlertRecord['unit']; period: AlertRecord['period'];
  window_key: string; threshold: number; spent: number | string; budget_limit: number | string; period_start: number | string;
  period_end: number | string; time: number | string; webhook: string | null; status: DeliveryStatus; attempts: number;
  delivered_at: number | string | null; last_error: string | null;
  projected_at: number | string | null; rate_per_hour: number | string | null; baseline_per_hour: number | string | null;
}

const optionalNumber = (value: number | string | null): number | undefined => (value === null ? undefined : Number(value));

export function alertFromRow(row: AlertRow): AlertRecord {
  return {
    id: Number(row.id), kind: row.kind, counterKey: row.counter_key, scope: row.scope, unit: row.unit, period: row.period,
    windowKey: row.window_key, threshold: row.threshold, spent: Number(row.spent), limit: Number(row.budget_limit),
    periodStart: Number(row.period_start), periodEnd: Number(row.period_end), time: Number(row.time),
    projectedAt: optionalNumber(row.projected_at), ratePerHour: optionalNumber(row.rate_per_hour), baselinePerHour: optionalNumber(row.baseline_per_hour),
    webhook: row.webhook ?? undefined, status: row.status, attempts: row.attempts,
    deliveredAt: optionalNumber(row.delivered_at), lastError: row.last_error ?? undefined,
  };
}

/** The columns a new alert row is inserted with, in both stores' parameter names. */
export function alertInsertValues(event: AlertEvent): Record<string, string | number | null> {
  return {
    kind: event.kind ?? 'threshold', counterKey: event.counterKey, scope: event.scope, unit: event.unit, period: event.period,
    windowKey: event.windowKey, threshold: event.threshold, spent: event.spent, limit: event.limit, periodStart: event.periodStart,
    periodEnd: event.periodEnd, time: event.time, webhook: event.webhook ?? null, status: event.webhook ? 'pending' : 'none',
    projectedAt: event.projectedAt ?? null, ratePerHour: event.ratePerHour ?? null, baselinePerHour: event.baselinePerHour ?? null,
  };
}

/** The amounts of a budget in JSON: usd as a decimal string plus exact micros; tokens as integers. */
export function amountFields(name: string, unit: BudgetUnit, value: number): Record<string, string | number> {
  return unit === 'usd' ? { [name]: formatMicros(value), [`${name}_micros`]: value } : { [name]: value };
}

/**
 * The webhook body (and an entry of GET /admin/alerts, which adds id and delivery fields):
 * `{kind, scope, budget: {unit, period, limit}, spent, limit, threshold, period_start, period_end, time}`, and for
 * burn-rate kinds `projected_exhaustion_at`, `rate_per_hour` and `baseline_per_hour`.
 */
export function alertPayload(event: AlertEvent): Record<string, unknown> {
  const kind = event.kind ?? 'threshold';
  const burnRate = kind === 'threshold' ? {} : {
    projected_exhaustion_at: event.projectedAt === undefined ? null : new Date(event.projectedAt).toISOString(),
    ...amountFields('rate_per_hour', event.unit, event.ratePerHour ?? 0),
    ...(event.baselinePerHour === undefined ? { baseline_per_hour: null } : amountFields('baseline_per_hour', event.unit, event.baselinePerHour)),
  };
  return {
    kind,
    scope: event.scope,
    budget: { unit: event.unit, period: event.period, ...amountFields('limit', event.unit, event.limit) },
    ...amountFields('spent', event.unit, event.spent),
    ...amountFields('limit', event.unit, event.limit),
    threshold: event.threshold,
    period_start: new Date(event.periodStart).toISOString(),
    period_end: new Date(event.periodEnd).toISOString(),
    time: new Date(event.time).toISOString(),
    ...burnRate,
  };
}

function amountText(unit: BudgetUnit, value: number): string {
  return unit === 'usd' ? `$${formatMicros(value)}` : `${value} tokens`;
}

/** One line a person reads: what happened to which budget. */
export function alertText(event: AlertEvent): string {
  const budget = `${event.scope} (${event.unit} per ${event.period})`;
  const spent = `${amountText(event.unit, event.spent)} of ${amountText(event.unit, event.limit)} spent`;
  const rate = `${amountText(event.unit, event.ratePerHour ?? 0)}/hour`;
  switch (event.kind ?? 'threshold') {
    case 'projected_exhaustion': {
      const when = event.projectedAt === undefined ? 'before the period ends' : `at ${new Date(event.projectedAt).toISOString()}`;
      return `Budget ${budget} runs out ${when}, before its period ends at ${new Date(event.periodEnd).toISOString()}: spending ${rate}, ${spent}.`;
    }
    case 'rate_jump':
      return `Spend rate of budget ${budget} jumped to ${rate}, against a baseline of ${amountText(event.unit, event.baselinePerHour ?? 0)}/hour: ${spent}.`;
    default:
      return `Budget ${budget} crossed ${Math.round(event.threshold * 10_000) / 100}% of its limit: ${spent}.`;
  }
}

/** The webhook body in the configured format: Covenant's JSON, or Slack's incoming-webhook `{text, blocks}`. */
export function webhookBody(event: AlertEvent): Record<string, unknown> {
  if (event.format !== 'slack') return alertPayload(event);
  const text = alertText(event);
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}

/** An alert as GET /admin/alerts lists it. */
export function alertListEntry(record: AlertRecord): Record<string, unknown> {
  return {
    id: record.id,
    ...alertPayload(record),
    webhook: record.webhook === undefined ? null : maskUrl(record.webhook),
    status: record.status,
    delivered: record.deliveredAt !== undefined,
    delivered_at: record.deliveredAt === undefined ? null : new Date(record.deliveredAt).toISOString(),
    attempts: record.attempts,
    last_error: record.lastError ?? null,
  };
}

/** Exact: spent / limit >= threshold, with the threshold taken to six decimal places. */
export function crossed(spent: number, limit: number, threshold: number): boolean {
  const scaled = Math.round(threshold * 1_000_000);
  if (Number.isSafeInteger(spent) && Number.isSafeInteger(limit) && spent >= 0 && limit >= 0) {
    // Each product in doubles is within a relative 2^-53 of the exact one, so a margin of 2^-50 settles every
    // comparison but a near tie without BigInt, which runs on every settle for every budget otherwise.
    const left = spent * 1_000_000;
    const right = scaled * limit;
    if (left > right * (1 + 2 ** -50)) return true;
    if (left < right * (1 - 2 ** -50)) return false;
  }
  return BigInt(spent) * 1_000_000n >= BigInt(scaled) * BigInt(limit);
}

/** A budget in its window, as its alerts name it. */
export interface AlertBudget {
  counterKey: string;
  scope: string;
  unit: BudgetUnit;
  period: Period;
  windowKey: string;
  limit: number;
  periodStart: number;
  periodEnd: number;
}

export interface AlertNotifierOptions {
  store: AlertStore;
  clock?: () => number;
  fetch?: typeof fetch;
  /** Delivery attempts per alert, the first one immediate. */
  maxAttempts?: number;
  /** Delay before the second attempt; doubled before each later one. */
  baseDelayMs?: number;
  timeoutMs?: number;
  onError?: (error: unknown, context: string) => void;
  /** Called once per new crossing, after it is recorded (e.g. to append it to the evidence ledger). */
  onRecorded?: (record: AlertRecord) => void | Promise<void>;
  /** Recent spend per counter: with it, budgets whose `alerts` have `burn_rate` get burn-rate alerts. */
  burnRate?: BurnRateTracker;
}

/** Counters whose raised alerts this process remembers; past it the least recently raised or checked go. */
const seenLimit = 10_000;

/** What an alert of a counter is raised once for: a threshold, or a burn-rate kind. */
type AlertMark = number | 'exhaustion' | 'jump';

/** The budget's fields of an alert about `budget` at `spent`. */
function eventFields(budget: AlertBudget, spent: number): AlertBudget & { spent: number } {
  return {
    counterKey: budget.counterKey, scope: budget.scope, unit: budget.unit, period: budget.period, windowKey: budget.windowKey,
    limit: budget.limit, spent, periodStart: budget.periodStart, periodEnd: budget.periodEnd,
  };
}

export class AlertNotifier {
  readonly #options: Required<Omit<AlertNotifierOptions, 'onError' | 'onRecorded' | 'burnRate'>> & Pick<AlertNotifierOptions, 'onError' | 'onRecorded' | 'burnRate'>;
  /** Alerts already recorded by this process, by counter: spares the store a write on every later settle. */
  readonly #seen = new RecencyMap<string, Set<AlertMark>>(seenLimit);
  readonly #pending = new Set<Promise<void>>();

  constructor(options: AlertNotifierOptions) {
    this.#options = {
      clock: Date.now, fetch: globalThis.fetch, maxAttempts: 5, baseDelayMs: 250, timeoutMs: 5_000, ...options,
    };
  }

  /**
   * Record and deliver every alert of `alerts` that `budget`, at `spent` after a settle, has crossed and not yet
   * alerted on. Returns at once. Runs on every settle for every budget: it builds an alert's fields only when a new
   * one is raised.
   */
  check(budget: AlertBudget, alerts: AlertsConfig, spent: number): void {
    const counterKey = budget.counterKey;
    for (const threshold of alerts.thresholds) {
      if (!crossed(spent, budget.limit, threshold) || this.#raised(counterKey, threshold)) continue;
      this.#raiseOnce(counterKey, threshold,
        { ...eventFields(budget, spent), kind: 'threshold', threshold, time: this.#options.clock(), webhook: alerts.webhook, format: alerts.format });
    }
    const tracker = this.#options.burnRate;
    if (!alerts.burn_rate || !tracker || spent >= budget.limit) return;
    const now = this.#options.clock();
    const windows = burnRateWindows(alerts.burn_rate);
    const reading = tracker.reading(counterKey, now, { spent, limit: budget.limit, periodEnd: budget.periodEnd }, windows);
    const exhaustion = reading.projectedAt !== undefined && !this.#raised(counterKey, 'exhaustion');
    const jump = rateJumped(reading.recentPerMs, reading.baselinePerMs, windows.jump) && !this.#raised(counterKey, 'jump');
    if (!exhaustion && !jump) return;
    const perHour = (perMs: number | undefined) => (perMs === undefined ? undefined : Math.round(perMs * 3_600_000));
    const event = {
      ...eventFields(budget, spent), threshold: 0, time: now, webhook: alerts.webhook, format: alerts.format, projectedAt: reading.projectedAt,
      ratePerHour: perHour(reading.recentPerMs), baselinePerHour: perHour(reading.baselinePerMs),
    };
    if (exhaustion) this.#raiseOnce(counterKey, 'exhaustion', { ...event, kind: 'projected_exhaustion' });
    if (jump) this.#raiseOnce(counterKey, 'jump', { ...event, kind: 'rate_jump' });
  }

  #raised(counterKey: string, mark: AlertMark): boolean {
    return this.#seen.get(counterKey)?.has(mark) === true;
  }

  #raiseOnce(counterKey: string, mark: AlertMark, event: AlertEvent): void {
    let marks = this.#seen.get(counterKey);
    if (marks === undefined) {
      marks = new Set();
      this.#seen.set(counterKey, marks);
    }
    marks.add(mark);
    this.#track(this.#raise(event, counterKey, mark));
  }

  /** Resolves when every recording and delivery started so far has finished (for shutdown and tests). */
  async idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  #track(work: Promise<void>): void {
    const tracked = work.catch((error) => this.#options.onError?.(error, 'budget alert')).finally(() => this.#pending.delete(tracked));
    this.#pending.add(tracked);
  }

  async #raise(event: AlertEvent, counterKey: string, mark: AlertMark): Promise<void> {
    let record: AlertRecord | undefined;
    try {
      record = await this.#options.store.record(event);
    } catch (error) {
      this.#seen.peek(counterKey)?.delete(mark); // not recorded: the next settle tries again
      throw error;
    }
    if (!record) return;
    await this.#options.onRecorded?.(record);
    if (!record.webhook) return;
    await this.#deliver({ ...record, format: event.format });
  }

  /** The longest one alert's delivery runs. */
  get deliveryMs(): number {
    return deliveryScheduleMs(this.#options.maxAttempts, this.#options.baseDelayMs, this.#options.timeoutMs);
  }

  /**
   * Go on with the deliveries a stopped process left pending, from the attempt after its last one, for alerts raised
   * before `raisedBefore`; `formatOf` gives the webhook's format (not stored). Returns how many; they run in the
   * background (idle waits for them).
   */
  async resumeDeliveries(raisedBefore: number, formatOf: (url: string) => AlertEvent['format']): Promise<number> {
    const pending = (await this.#options.store.list({ limit: 10_000 }))
      .filter((record) => record.status === 'pending' && record.webhook !== undefined && record.time < raisedBefore);
    for (const record of pending) this.#track(this.#deliver({ ...record, format: formatOf(record.webhook as string) }, record.attempts + 1));
    return pending.length;
  }

  async #deliver(record: AlertRecord, firstAttempt = 1): Promise<void> {
    const { maxAttempts } = this.#options;
    const failure = await deliverWebhook({
      fetch: this.#options.fetch, url: record.webhook as string, body: JSON.stringify(webhookBody(record)),
      maxAttempts, firstAttempt, baseDelayMs: this.#options.baseDelayMs, timeoutMs: this.#options.timeoutMs,
      onAttempt: (attempt, outcome) => this.#options.store.markDelivery(record.id, outcome.delivered
        ? { status: 'delivered', attempts: attempt, deliveredAt: this.#options.clock() }
        : { status: attempt === maxAttempts ? 'failed' : 'pending', attempts: attempt, lastError: outcome.error }),
    });
    if (failure !== undefined) this.#options.onError?.(new Error(`Alert webhook ${maskUrl(record.webhook as string)} failed ${maxAttempts} times: ${failure}`), 'budget alert');
  }
}

