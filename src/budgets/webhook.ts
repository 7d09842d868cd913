// Alert webhooks: one JSON POST, retried with a doubling delay, each attempt's outcome reported (budget and session alerts).

export interface WebhookDelivery {
  fetch: typeof fetch;
  url: string;
  /** The JSON text posted. */
  body: string;
  /** Attempts, the first one immediate. */
  maxAttempts: number;
  /** The number of the first attempt made (default 1): a delivery resumed after a restart goes on from where it stopped. */
  firstAttempt?: number;
  /** Delay before the second attempt; doubled before each later one. */
  baseDelayMs: number;
  timeoutMs: number;
  /** After each attempt: delivered, or the error it ended with (the caller records the delivery status). */
  onAttempt(attempt: number, outcome: { delivered: true } | { delivered: false; error: string }): Promise<void>;
}

/** Post until one attempt gets a 2xx answer; resolves with the last error when every attempt failed, else undefined. */
export async function deliverWebhook(delivery: WebhookDelivery): Promise<string | undefined> {
  let lastError = '';
  const first = delivery.firstAttempt ?? 1;
  for (let attempt = first; attempt <= delivery.maxAttempts; attempt += 1) {
    if (attempt > first) await new Promise((resolve) => setTimeout(resolve, delivery.baseDelayMs * 2 ** (attempt - 2)));
    try {
      const response = await delivery.fetch(delivery.url, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: delivery.body, signal: AbortSignal.timeout(delivery.timeoutMs),
      });
      // Read the answer so the connection is released.
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) {
        await delivery.onAttempt(attempt, { delivered: true });
        return undefined;
      }
      lastError = `HTTP ${response.status}`;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    await delivery.onAttempt(attempt, { delivered: false, error: lastError });
  }
  return lastError;
}

/** The longest a delivery runs: every attempt timing out, and the delays between them. */
export function deliveryScheduleMs(maxAttempts: number, baseDelayMs: number, timeoutMs: number): number {
  let delays = 0;
  for (let attempt = 2; attempt <= maxAttempts; attempt += 1) delays += baseDelayMs * 2 ** (attempt - 2);
  return maxAttempts * timeoutMs + delays;
}
