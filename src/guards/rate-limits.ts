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
 * A sliding window of per-second buckets, as a flat array of [second, amount] pairs in ascending seconds. A bucket
 * stops counting `windowSeconds` after its second began, so "at most N in any 60 seconds" holds exactly.
 */
export class SecondBuckets {
  readonly pairs: number[] = [];

  /** Drop buckets that have left the window at `second` and return the sum of the rest. */
  total(second: number): number {
    const pairs = this.pairs;
    const oldest = second - windowSeconds + 1;
    let drop = 0;
    while (drop < pairs.length && pairs[drop]! < oldest) drop += 2;
    if (drop > 0) pairs.splice(0, drop);
    let sum = 0;
    for (let index = 1; index < pairs.length; index += 2) sum += pairs[index]!;
    return sum;
  }

  add(second: number, amount: number): void {
    const pairs = this.pairs;
    const last = pairs.length - 2;
    if (last >= 0 && pairs[last] === second) pairs[last + 1] += amount;
    else pairs.push(second, amount);
  }

  /** Correct the bucket of `second` by `delta` (never below zero); a bucket already gone is left alone. */
  correct(second: number, delta: number): void {
    const pairs = this.pairs;
    for (let index = pairs.length - 2; index >= 0; index -= 2) {
      if (pairs[index] === second) {
        pairs[index + 1] = Math.max(0, pairs[index + 1]! + delta);
        return;
      }
      if (pairs[index]! < second) return;
    }
  }

  /** Milliseconds from `nowMs` until `need` of the amount has left the window (the oldest buckets leave first). */
  retryAfterMs(need: number, nowMs: number): number {
    return retryAfterMs(this.pairs, need, nowMs);
  }

  get empty(): boolean {
    return this.pairs.length === 0;
  }
}

/** Over [second, amount] pairs in ascending seconds: when `need` of the amount will have left the window. */
export function retryAfterMs(pairs: readonly number[], need: number, nowMs: number): number {
  let freed = 0;
  for (let index = 0; index < pairs.length; index += 2) {
    freed += pairs[index + 1]!;
    if (freed >= need) return (pairs[index]! + windowSeconds) * 1000 - nowMs;
  }
  // More than the whole window holds (a request larger than its tpm): a full window, and it will still not pass.
  return windowSeconds * 1000;
}

/** Whole seconds for Retry-After: rounded up, at least one. */
export function retryAfterSeconds(milliseconds: number): number {
  return Math.max(1, Math.ceil(milliseconds / 1000));
}
