// Where decision-oversight alerts go (the department's alerts webhook, an SLA's retraining webhook) and how they are delivered.
import type { AlertRaiser, RaisedAlert } from '../alerts/raiser.js';
import { deliverWebhook } from '../budgets/webhook.js';

export interface AlertDelivery {
  fetch?: typeof fetch;
  /** Webhook delivery attempts, the first one immediate; the delay doubles from baseDelayMs. */
  maxAttempts?: number;
  baseDelayMs?: number;
  timeoutMs?: number;
  onError?: (error: unknown, where: string) => void;
  clock?: () => number;
  /** Where each alert is recorded with its delivery (GET /admin/alerts); without it, alerts are only posted. */
  raiser?: AlertRaiser;
}

/** Background webhook deliveries, tracked so shutdown and tests can wait for them. */
export class AlertSender {
  readonly #options: AlertDelivery;
  readonly #pending = new Set<Promise<void>>();

  constructor(options: AlertDelivery) {
    this.#options = options;
  }

  /** Post `body` to `url` in the background; `onAttempt` records each attempt's outcome where the caller keeps it. */
  send(url: string, body: Record<string, unknown>, where: string,
    onAttempt: (attempt: number, outcome: { delivered: true; at: number } | { delivered: false; error: string }) => Promise<void> = async () => {}): void {
    const maxAttempts = this.#options.maxAttempts ?? 5;
    const clock = this.#options.clock ?? Date.now;
    const work = deliverWebhook({
      fetch: this.#options.fetch ?? globalThis.fetch, url, body: JSON.stringify(body), maxAttempts,
      baseDelayMs: this.#options.baseDelayMs ?? 250, timeoutMs: this.#options.timeoutMs ?? 5000,
      onAttempt: (attempt, outcome) => onAttempt(attempt, outcome.delivered ? { delivered: true, at: clock() } : outcome),
    }).then((failure) => {
      if (failure !== undefined) throw new Error(`${where} webhook ${url} failed ${maxAttempts} times: ${failure}`);
    });
    const tracked = work.catch((error) => this.#options.onError?.(error, where)).finally(() => this.#pending.delete(tracked));
    this.#pending.add(tracked);
  }

  /**
   * Raise an alert: recorded (with the raiser) whether or not there is a webhook, and posted to `url` when there is one;
   * `onAttempt` records each attempt's outcome where the caller keeps it too.
   */
  alert(alert: RaisedAlert, url: string | null | undefined, body: Record<string, unknown>, where: string,
    onAttempt?: (attempt: number, outcome: { delivered: true; at: number } | { delivered: false; error: string }) => Promise<void>): void {
    const raiser = this.#options.raiser;
    if (raiser) raiser.raise(alert, url ? { url, body, onAttempt } : undefined);
    else if (url) this.send(url, body, where, onAttempt);
  }

  /** Resolves when every delivery started so far has finished. */
  async idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
    await this.#options.raiser?.idle();
  }
}
