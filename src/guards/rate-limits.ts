// Rate limits: the LimitStore contract (check and take in one step) and the sliding-window arithmetic both backends share.

/** One rate limit that applies to a request: its counters' scope, how it is named to the client, and its limits (0: none). */
export interface RateRule {
  /** The counters' scope, in the budget scope grammar: `key:ID`, `department:NAME`, `user:DEPARTMENT/USER`. */
  readonly scope: string;
  /** How a refusal names it, e.g. `key "claims/bot"`. */
  readonly label: string;
  readonly rpm: number;
  readonly tpm: number;
  readonly concurrent: number;
}

export interface RateRequest {
  /** The request's id: its place among the requests in flight. */
  id: string;
  /** Wall-clock milliseconds: the second whose bucket it is counted in. */
  nowMs: number;
  /** Tokens counted against tpm: the reserved worst case. */
  tokens: number;
  rules: readonly RateRule[];
  /** How long a request in flight holds its concurrency slot if its replica dies before releasing it. */
  leaseMs: number;
}

export type RateLimitKind = 'rpm' | 'tpm' | 'concurrent';

/** Admitted (every counter taken), or refused by one rule (nothing taken) with the wait until a request would pass. */
export type RateDecision =
  | { readonly ok: true }
  | { readonly ok: false; readonly rule: number; readonly limit: RateLimitKind; readonly retryAfterMs: number };

export interface RateRelease {
  id: string;
  /** The nowMs it was admitted with. */
  admittedMs: number;
  nowMs: number;
  /** Actual tokens minus the tokens counted at admission (negative when it used less). */
  tokenDelta: number;
  rules: readonly RateRule[];
}

/**
 * The rate-limit counters. `acquire` checks every rule and takes every counter in one atomic step, or takes nothing:
 * N processes sharing a store together admit what one would. The memory store answers synchronously (no await).
 */
export interface RateLimitStore {
  /** Reads `request` before it returns (callers reuse the object) and never keeps it. */
  acquire(request: RateRequest): RateDecision | Promise<RateDecision>;
  /** The request ended: free its concurrency slot and correct its tokens to what it used. */
  release(release: RateRelease): void | Promise<void>;
  close(): Promise<void>;
}

/** The window: a request counts for this many one-second buckets, the current one included. */
export const windowSeconds = 60;

/** The admitted decision, shared (no allocation per request). */
export const admitted: RateDecision = { ok: true };

/** Retry-After for a concurrency limit: no one knows when a request in flight ends, so the client tries again soon. */
export const concurrentRetryMs = 1000;

/**
 * One scope's counters in a sliding window: per-second buckets as one flat array of [second, requests, tokens] triples
 * in ascending seconds, and the requests in flight. A bucket stops counting `windowSeconds` after its second began, so
 * "at most N in any 60 seconds" holds exactly. One object and one exactly sized array for a scope seen once (an end
 * user's first request): a million end users make a million of them.
 */
export class WindowCounters {
  buckets: number[];
  inFlight = 0;
  /** The last second it was used. */
  touched: number;

  constructor(second: number, requests: number, tokens: number) {
    this.buckets = [second, requests, tokens];
    this.touched = second;
  }

  /** Drop the buckets that have left the window at `second`. */
  advance(second: number): void {
    const buckets = this.buckets;
    const oldest = second - windowSeconds + 1;
    let drop = 0;
    while (drop < buckets.length && buckets[drop]! < oldest) drop += 3;
    if (drop > 0) buckets.splice(0, drop);
  }

  /** The window's requests (`column` 1) or tokens (2), as of the last advance. */
  total(column: 1 | 2): number {
    const buckets = this.buckets;
    let sum = 0;
    for (let index = column; index < buckets.length; index += 3) sum += buckets[index]!;
    return sum;
  }

  add(second: number, requests: number, tokens: number): void {
    const buckets = this.buckets;
    const last = buckets.length - 3;
    this.touched = second;
    // A rule with only a concurrency limit counts nothing per second.
    if (requests === 0 && tokens === 0) return;
    if (last >= 0 && buckets[last] === second) {
      buckets[last + 1] += requests;
      buckets[last + 2] += tokens;
    } else {
      buckets.push(second, requests, tokens);
    }
  }

  /** Correct the tokens of the bucket of `second` by `delta` (never below zero); a bucket already gone is left alone. */
  correctTokens(second: number, delta: number): void {
    const buckets = this.buckets;
    for (let index = buckets.length - 3; index >= 0; index -= 3) {
      if (buckets[index] === second) {
        buckets[index + 2] = Math.max(0, buckets[index + 2]! + delta);
        return;
      }
      if (buckets[index]! < second) return;
    }
  }

  /** Milliseconds from `nowMs` until `need` of the requests (`column` 1) or tokens (2) has left the window. */
  retryAfterMs(column: 1 | 2, need: number, nowMs: number): number {
    const buckets = this.buckets;
    let freed = 0;
    for (let index = 0; index < buckets.length; index += 3) {
      freed += buckets[index + column]!;
      if (freed >= need) return (buckets[index]! + windowSeconds) * 1000 - nowMs;
    }
    // More than the whole window holds (a request larger than its tpm): a full window, and it will still not pass.
    return windowSeconds * 1000;
  }
}

/** Whole seconds for Retry-After: rounded up, at least one. */
export function retryAfterSeconds(milliseconds: number): number {
  return Math.max(1, Math.ceil(milliseconds / 1000));
}
