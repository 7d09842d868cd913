// Recent spend of each budget counter in memory, bounded and expiring, for burn-rate alerts and projected exhaustion.
import type { BurnRateConfig } from '../config/schema.js';
import { baselineRate, durationMs, projectedExhaustion, spendRate, type SpendSample } from '../core/burn-rate.js';
import { RecencyMap } from '../core/recency-map.js';

/** The windows of one `burn_rate` section in milliseconds, defaults filled. */
export interface BurnRateWindows {
  windowMs: number;
  baselineMs: number;
  jump: number;
}

export const defaultBurnRate: BurnRateWindows = { windowMs: 15 * 60_000, baselineMs: 60 * 60_000, jump: 5 };

/** Each config section's windows, worked out once (alerts check them on every settle; a reload brings new sections). */
const windowsOf = new WeakMap<BurnRateConfig, BurnRateWindows>();

export function burnRateWindows(config: BurnRateConfig | undefined): BurnRateWindows {
  if (!config) return defaultBurnRate;
  const known = windowsOf.get(config);
  if (known !== undefined) return known;
  const windowMs = durationMs(config.window) ?? defaultBurnRate.windowMs;
  const baselineMs = config.baseline === undefined ? 4 * windowMs : (durationMs(config.baseline) ?? 4 * windowMs);
  const windows = { windowMs, baselineMs, jump: config.jump };
  windowsOf.set(config, windows);
  return windows;
}

export interface BurnRateTrackerOptions {
  /** Counters tracked at most; past it the one idle longest is dropped (per-user counters are many). */
  maxCounters?: number;
  /** Samples kept per window: the resolution of the rate. */
  samplesPerWindow?: number;
}

interface Tracked {
  samples: SpendSample[];
  lastSeen: number;
}

export interface BurnRateReading {
  recentPerMs: number;
  baselinePerMs: number | undefined;
  /** Epoch ms when the budget runs out at the recent rate, or undefined when not before its period ends. */
  projectedAt: number | undefined;
}

/**
 * Samples of each counter's spent as settles report it. The counters come from the budget store, so with a shared
 * store (Redis) a replica's samples hold every replica's spend, not only its own. Memory is bounded twice: samples
 * older than the longest window plus baseline go, and so do counters idle that long or pushed out by newer ones.
 */
export class BurnRateTracker {
  /** Least recently observed first. */
  readonly #counters: RecencyMap<string, Tracked>;
  readonly #samplesPerWindow: number;
  #bucketMs: number;
  #retainMs: number;

  constructor(windows: readonly BurnRateWindows[] = [defaultBurnRate], options: BurnRateTrackerOptions = {}) {
    this.#counters = new RecencyMap(options.maxCounters ?? 10_000);
    this.#samplesPerWindow = options.samplesPerWindow ?? 10;
    this.#bucketMs = 0;
    this.#retainMs = 0;
    this.configure(windows);
  }

  /** Resolution from the shortest window, retention from the longest window plus baseline (call again on reload). */
  configure(windows: readonly BurnRateWindows[]): void {
    const all = windows.length > 0 ? windows : [defaultBurnRate];
    this.#bucketMs = Math.max(1, Math.floor(Math.min(...all.map((each) => each.windowMs)) / this.#samplesPerWindow));
    this.#retainMs = Math.max(...all.map((each) => each.windowMs + each.baselineMs));
  }

  get size(): number {
    return this.#counters.size;
  }

  /** Note a counter's spent at `now`. O(1) amortized: one sample per bucket, the oldest entries checked for expiry. */
  observe(counterKey: string, now: number, spent: number): void {
    const tracked = this.#counters.get(counterKey);
    if (tracked === undefined) {
      this.#counters.set(counterKey, this.#fresh(now, spent));
      this.#expire(now);
      return;
    }
    tracked.lastSeen = now;
    const samples = tracked.samples;
    const last = samples[samples.length - 1];
    const bucket = Math.floor(now / this.#bucketMs);
    const beforeLast = samples[samples.length - 2];
    if (last && now < last.time) {
      // A settle reported out of order: the later sample already bounds the counter.
    } else if (beforeLast && Math.floor(beforeLast.time / this.#bucketMs) === bucket) {
      // A bucket keeps its first and its latest observation: the first is where a rate measured from it starts,
      // the latest a lower bound of the counter at its time, as spentAt needs.
      last.time = now;
      last.spent = Math.max(last.spent, spent);
    } else {
      samples.push({ time: now, spent });
    }
    // Keep one sample at or before the horizon: it is the counter's value where the baseline begins.
    const horizon = now - this.#retainMs;
    let drop = 0;
    while (drop + 1 < samples.length && samples[drop + 1].time <= horizon) drop += 1;
    if (drop > 0) samples.splice(0, drop);
    this.#expire(now);
  }

  /** The recent and baseline rates of a counter and where its spend leads; rates are zero/undefined when untracked. */
  reading(counterKey: string, now: number, budget: { spent: number; limit: number; periodEnd: number }, windows: BurnRateWindows): BurnRateReading {
    const samples = this.#counters.peek(counterKey)?.samples ?? [];
    const recentPerMs = spendRate(samples, now, windows.windowMs);
    return {
      recentPerMs,
      baselinePerMs: baselineRate(samples, now, windows.windowMs, windows.baselineMs),
      projectedAt: projectedExhaustion({ spent: budget.spent, limit: budget.limit, periodEnd: budget.periodEnd, ratePerMs: recentPerMs, now }),
    };
  }

  /**
   * A new counter's state holding one sample. When the map is full, the set that follows drops the least recently
   * observed counter, so its state is taken over: end users' counters come and go by the million, and state that lived
   * long enough to leave the young generation and then died would cost a full collection's work each.
   */
  #fresh(now: number, spent: number): Tracked {
    const counters = this.#counters;
    const dropped = counters.size >= counters.capacity ? counters.oldest()?.value : undefined;
    if (dropped === undefined) {
      // Most per-user counters are seen once or twice: an array of one, not one grown for many.
      return { samples: [{ time: now, spent }], lastSeen: now };
    }
    const samples = dropped.samples;
    samples.length = 1;
    samples[0].time = now;
    samples[0].spent = spent;
    dropped.lastSeen = now;
    return dropped;
  }

  /** Drop counters idle longer than the retention: their windows are over or their spend has stopped. */
  #expire(now: number): void {
    for (let checked = 0; checked < 2; checked += 1) {
      const oldest = this.#counters.oldest();
      if (!oldest || now - oldest.value.lastSeen <= this.#retainMs) return;
      this.#counters.delete(oldest.key);
    }
  }
}
