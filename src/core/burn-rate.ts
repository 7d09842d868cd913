// Burn-rate math: spend rates from samples of a budget's spent counter, projected exhaustion, and sudden jumps.

/** One observation of a budget's spent counter (micros or tokens) at an epoch-ms time. */
export interface SpendSample {
  time: number;
  spent: number;
}

/**
 * The spent counter at `time` as the samples know it: the latest sample at or before `time`. Spent only grows
 * within a window, so this is a lower bound; undefined when every sample is later (tracking began after `time`).
 * `samples` are in time order.
 */
export function spentAt(samples: readonly SpendSample[], time: number): number | undefined {
  // Binary search: a busy counter keeps dozens of samples, read four times on every settle.
  let low = 0;
  let high = samples.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (samples[middle].time > time) high = middle;
    else low = middle + 1;
  }
  return low === 0 ? undefined : samples[low - 1].spent;
}

/**
 * Spend per millisecond over the `windowMs` ending at `now`: what was spent since the window began, divided by the
 * whole window. When tracking began inside the window, the spend before the first sample is unknown and left out,
 * so a short history never makes two close requests look like a flood.
 * @example spendRate([{time: 0, spent: 0}, {time: 60_000, spent: 600}], 60_000, 60_000) // 0.01 per ms
 */
export function spendRate(samples: readonly SpendSample[], now: number, windowMs: number): number {
  if (samples.length === 0 || windowMs <= 0) return 0;
  const latest = spentAt(samples, now) ?? 0;
  const start = spentAt(samples, now - windowMs) ?? samples[0].spent;
  return Math.max(0, latest - start) / windowMs;
}

/**
 * The trailing baseline: spend per millisecond over the `baselineMs` that ended where the recent window began.
 * Undefined until the samples cover that whole span (a baseline from part of it would be too low and cry wolf).
 */
export function baselineRate(samples: readonly SpendSample[], now: number, windowMs: number, baselineMs: number): number | undefined {
  if (samples.length === 0 || baselineMs <= 0) return undefined;
  const end = now - windowMs;
  const start = end - baselineMs;
  if (samples[0].time > start) return undefined;
  const spentAtStart = spentAt(samples, start) as number;
  const spentAtEnd = spentAt(samples, end) as number;
  return Math.max(0, spentAtEnd - spentAtStart) / baselineMs;
}

/**
 * When spending at `ratePerMs` from `now` uses up what is left of `limit`: an epoch ms rounded up, or undefined when
 * the rate is zero or the budget lasts until `periodEnd` (the window ends first). Already exhausted: `now`.
 * @example projectedExhaustion({spent: 400, limit: 1000, ratePerMs: 0.01, now: 0, periodEnd: 86_400_000}) // 60_000
 */
export function projectedExhaustion(options: { spent: number; limit: number; ratePerMs: number; now: number; periodEnd: number }): number | undefined {
  const { spent, limit, ratePerMs, now, periodEnd } = options;
  if (spent >= limit) return now;
  if (!(ratePerMs > 0)) return undefined;
  const at = Math.ceil(now + (limit - spent) / ratePerMs);
  return at < periodEnd ? at : undefined;
}

/**
 * Whether the recent rate is at least `factor` times the baseline. A zero or unknown baseline never counts as a jump:
 * the first spend after a quiet spell is no loop, and exhaustion alerts still cover a budget spent from nothing.
 */
export function rateJumped(recentPerMs: number, baselinePerMs: number | undefined, factor: number): boolean {
  return baselinePerMs !== undefined && baselinePerMs > 0 && recentPerMs >= baselinePerMs * factor;
}

const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A duration such as "15m", "90s", "1h" or "500ms" in milliseconds; undefined when the text is not one.
 * @example durationMs('15m') // 900_000
 */
export function durationMs(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!match) return undefined;
  const value = Math.round(Number(match[1]) * durationUnits[match[2]]);
  return value > 0 ? value : undefined;
}
