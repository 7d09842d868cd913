// Raises governance alerts: records each one, then posts it to its webhook in the background, every attempt's outcome kept on the record.
import { deliverWebhook } from '../budgets/webhook.js';
import { maskUrl } from '../core/secrets.js';
import type { GovernanceAlert, GovernanceAlertStore, NewGovernanceAlert } from './store.js';

export interface AlertRaiserOptions {
  store: GovernanceAlertStore;
  fetch?: typeof fetch;
  /** Delivery attempts, the first one immediate; the delay doubles from baseDelayMs. */
  maxAttempts?: number;
  baseDelayMs?: number;
  timeoutMs?: number;
  clock?: () => number;
  onError?: (error: unknown, where: string) => void;
}

/** An alert to raise: the record's fields but the time and the masked webhook, which the raiser fills in. */
export type RaisedAlert = Omit<NewGovernanceAlert, 'time' | 'webhook'> & { time?: number };

/** Where a raised alert is posted: the full URL (never stored) and the body, with an optional hook on each attempt. */
export interface AlertPost {
  url: string;
  body: Record<string, unknown>;
  onAttempt?: (attempt: number, outcome: { delivered: true; at: number } | { delivered: false; error: string }) => Promise<void>;
}

export class AlertRaiser {
  readonly #options: AlertRaiserOptions;
  readonly #pending = new Set<Promise<void>>();

  constructor(options: AlertRaiserOptions) {
    this.#options = options;
  }

  get maxAttempts(): number {
    return this.#options.maxAttempts ?? 5;
  }

  /** Record the alert and deliver it in the background (tracked by idle); a failure is reported through onError. */
  raise(alert: RaisedAlert, post?: AlertPost): void {
    const work = this.raiseNow(alert, post).then(() => undefined);
    const tracked = work.catch((error) => this.#options.onError?.(error, `${alert.kind} alert`)).finally(() => this.#pending.delete(tracked));
    this.#pending.add(tracked);
  }

  /** Record the alert and deliver it, resolving once delivery has succeeded or every attempt failed (rejects then). */
  async raiseNow(alert: RaisedAlert, post?: AlertPost): Promise<GovernanceAlert> {
    const clock = this.#options.clock ?? Date.now;
    const record = await this.#options.store.record({ ...alert, time: alert.time ?? clock(), webhook: post ? maskUrl(post.url) : null });
    if (!post) return record;
    const maxAttempts = this.maxAttempts;
    const failure = await deliverWebhook({
      fetch: this.#options.fetch ?? globalThis.fetch, url: post.url, body: JSON.stringify(post.body), maxAttempts,
      baseDelayMs: this.#options.baseDelayMs ?? 250, timeoutMs: this.#options.timeoutMs ?? 5000,
      onAttempt: async (attempt, outcome) => {
        const at = clock();
        await this.#options.store.markDelivery(record.id, outcome.delivered
          ? { status: 'delivered', attempts: attempt, deliveredAt: at }
          : { status: attempt === maxAttempts ? 'failed' : 'pending', attempts: attempt, lastError: outcome.error });
        await post.onAttempt?.(attempt, outcome.delivered ? { delivered: true, at } : outcome);
      },
    });
    if (failure !== undefined) throw new Error(`${alert.kind} webhook ${maskUrl(post.url)} failed ${maxAttempts} times: ${failure}`);
    return record;
  }

  /**
   * Mark failed, with `reason`, the deliveries a stopped process left pending for alerts raised before `raisedBefore`.
   * They cannot be resumed: the record keeps only the webhook's host (its path is often its secret) and not the body.
   * Returns how many.
   */
  async failInterrupted(raisedBefore: number, reason: string): Promise<number> {
    const pending = (await this.#options.store.list({ limit: 10_000 })).filter((alert) => alert.status === 'pending' && alert.time < raisedBefore);
    for (const alert of pending) {
      const lastError = alert.lastError === null ? reason : `${reason} (attempt ${alert.attempts}: ${alert.lastError})`;
      await this.#options.store.markDelivery(alert.id, { status: 'failed', attempts: alert.attempts, lastError });
    }
    return pending.length;
  }

  /** Resolves when every alert raised so far has been recorded and delivered (or given up). */
  async idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }
}
