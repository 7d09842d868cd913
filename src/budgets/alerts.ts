// Budget alerts: detect threshold crossings after each settle, record each once per budget window, POST webhooks with retries.
import type { AlertsConfig } from '../config/schema.js';
import type { BudgetUnit } from '../core/budget-math.js';
import type { Period } from '../core/budget-types.js';
import { formatMicros } from '../core/money.js';

/** A crossing of one threshold by one budget in one window. */
export interface AlertEvent {
  counterKey: string;
  /** The budget's scope in its string form (core/scope.ts), as its counter names it. */
  scope: string;
  unit: BudgetUnit;
  period: Period;
  windowKey: string;
  threshold: number;
  /** Micros (usd) or tokens, at the moment of the crossing. */
  spent: number;
  limit: number;
  periodStart: number;
  periodEnd: number;
  /** Epoch ms of the crossing. */
  time: number;
  webhook?: string;
}

export interface AlertRecord extends AlertEvent {
  id: number;
  attempts: number;
  deliveredAt?: number;
  lastError?: string;
}

export interface AlertDelivery {
  attempts: number;
  deliveredAt?: number;
  lastError?: string;
}

/** Persisted alerts, unique per (counterKey, threshold) across every process sharing the store. */
export interface AlertStore {
  /** The new record, or undefined when this crossing was already recorded (by this or another process). */
  record(event: AlertEvent): Promise<AlertRecord | undefined>;
  markDelivery(id: number, delivery: AlertDelivery): Promise<void>;
  /** Newest first. */
  list(filter?: { scope?: string; limit?: number }): Promise<AlertRecord[]>;
}

/** An alert as both the SQLite and the PostgreSQL alert stores keep it (BIGINT columns may come back as strings). */
export interface AlertRow {
  id: number | string; counter_key: string; scope: string; unit: AlertRecord['unit']; period: AlertRecord['period'];
  window_key: string; threshold: number; spent: number | string; budget_limit: number | string; period_start: number | string;
  period_end: number | string; time: number | string; webhook: string | null; attempts: number;
  delivered_at: number | string | null; last_error: string | null;
}

export function alertFromRow(row: AlertRow): AlertRecord {
  return {
    id: Number(row.id), counterKey: row.counter_key, scope: row.scope, unit: row.unit, period: row.period,
    windowKey: row.window_key, threshold: row.threshold, spent: Number(row.spent), limit: Number(row.budget_limit),
    periodStart: Number(row.period_start), periodEnd: Number(row.period_end), time: Number(row.time),
    webhook: row.webhook ?? undefined, attempts: row.attempts,
    deliveredAt: row.delivered_at === null ? undefined : Number(row.delivered_at), lastError: row.last_error ?? undefined,
  };
}

/** The amounts of a budget in JSON: usd as a decimal string plus exact micros; tokens as integers. */
export function amountFields(name: string, unit: BudgetUnit, value: number): Record<string, string | number> {
  return unit === 'usd' ? { [name]: formatMicros(value), [`${name}_micros`]: value } : { [name]: value };
}

/**
 * The webhook body (and an entry of GET /admin/alerts, which adds id and delivery fields):
 * `{scope, budget: {unit, period, limit}, spent, limit, threshold, period_start, period_end, time}`.
 */
export function alertPayload(event: AlertEvent): Record<string, unknown> {
  return {
    scope: event.scope,
    budget: { unit: event.unit, period: event.period, ...amountFields('limit', event.unit, event.limit) },
    ...amountFields('spent', event.unit, event.spent),
    ...amountFields('limit', event.unit, event.limit),
    threshold: event.threshold,
    period_start: new Date(event.periodStart).toISOString(),
    period_end: new Date(event.periodEnd).toISOString(),
    time: new Date(event.time).toISOString(),
  };
}

/** An alert as GET /admin/alerts lists it. */
export function alertListEntry(record: AlertRecord): Record<string, unknown> {
  return {
    id: record.id,
    ...alertPayload(record),
    webhook: record.webhook ?? null,
    delivered: record.deliveredAt !== undefined,
    delivered_at: record.deliveredAt === undefined ? null : new Date(record.deliveredAt).toISOString(),
    attempts: record.attempts,
    last_error: record.lastError ?? null,
  };
}

/** Exact: spent / limit >= threshold, with the threshold taken to six decimal places. */
export function crossed(spent: number, limit: number, threshold: number): boolean {
  return BigInt(spent) * 1_000_000n >= BigInt(Math.round(threshold * 1_000_000)) * BigInt(limit);
}

export interface CounterAfterSettle {
  counterKey: string;
  scope: string;
  unit: BudgetUnit;
  period: Period;
  windowKey: string;
  limit: number;
  spent: number;
  periodStart: number;
  periodEnd: number;
  alerts: AlertsConfig;
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
}

const seenLimit = 10_000;

export class AlertNotifier {
  readonly #options: Required<Omit<AlertNotifierOptions, 'onError' | 'onRecorded'>> & Pick<AlertNotifierOptions, 'onError' | 'onRecorded'>;
  /** Crossings already recorded by this process: spares the store a write on every later settle. */
  readonly #seen = new Set<string>();
  readonly #pending = new Set<Promise<void>>();

  constructor(options: AlertNotifierOptions) {
    this.#options = {
      clock: Date.now, fetch: globalThis.fetch, maxAttempts: 5, baseDelayMs: 250, timeoutMs: 5_000, ...options,
    };
  }

  /** Record and deliver every threshold `counter` has crossed and not yet alerted on. Returns at once. */
  check(counter: CounterAfterSettle): void {
    for (const threshold of counter.alerts.thresholds) {
      if (!crossed(counter.spent, counter.limit, threshold)) continue;
      const seenKey = `${counter.counterKey}\u0000${threshold}`;
      if (this.#seen.has(seenKey)) continue;
      if (this.#seen.size >= seenLimit) this.#seen.clear();
      this.#seen.add(seenKey);
      const { alerts, ...fields } = counter;
      this.#track(this.#raise({ ...fields, threshold, time: this.#options.clock(), webhook: alerts.webhook }, seenKey));
    }
  }

  /** Resolves when every recording and delivery started so far has finished (for shutdown and tests). */
  async idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  #track(work: Promise<void>): void {
    const tracked = work.catch((error) => this.#options.onError?.(error, 'budget alert')).finally(() => this.#pending.delete(tracked));
    this.#pending.add(tracked);
  }

  async #raise(event: AlertEvent, seenKey: string): Promise<void> {
    let record: AlertRecord | undefined;
    try {
      record = await this.#options.store.record(event);
    } catch (error) {
      this.#seen.delete(seenKey); // not recorded: the next settle tries again
      throw error;
    }
    if (!record) return;
    await this.#options.onRecorded?.(record);
    if (!record.webhook) return;
    await this.#deliver(record);
  }

  async #deliver(record: AlertRecord): Promise<void> {
    const body = JSON.stringify(alertPayload(record));
    let lastError = '';
    for (let attempt = 1; attempt <= this.#options.maxAttempts; attempt += 1) {
      if (attempt > 1) await sleep(this.#options.baseDelayMs * 2 ** (attempt - 2));
      try {
        const response = await this.#options.fetch(record.webhook as string, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(this.#options.timeoutMs),
        });
        await response.arrayBuffer().catch(() => undefined);
        if (response.ok) {
          await this.#options.store.markDelivery(record.id, { attempts: attempt, deliveredAt: this.#options.clock() });
          return;
        }
        lastError = `HTTP ${response.status}`;
      } catch (error) {
        lastError = error instanceof Error ? error.message : String(error);
      }
      await this.#options.store.markDelivery(record.id, { attempts: attempt, lastError });
    }
    this.#options.onError?.(new Error(`Alert webhook ${record.webhook} failed ${this.#options.maxAttempts} times: ${lastError}`), 'budget alert');
  }
}

function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}
