// The embedded RateLimitStore: every counter in this process's memory, checked and taken synchronously.
import { admitted, concurrentRetryMs, windowSeconds, WindowCounters, type RateDecision, type RateLimitStore, type RateRelease, type RateRequest } from '../../guards/rate-limits.js';

/**
 * Idle counters are looked for a few at a time on each acquire, from where the last look stopped, so that every counter
 * is looked at about once in this long: a counter is dropped once it has been idle for a whole window, so new end
 * users' counters are held for about a window and this much more. Under load each acquire looks at a handful; the first
 * after a quiet spell this long looks at them all. (One pass over every counter every 10 s stalled the request that
 * ran it under load: 25-30 ms at 180,000 end users' counters.)
 */
const passMs = 10_000;

export interface MemoryRateLimitStore extends RateLimitStore {
  acquire(request: RateRequest): RateDecision;
  release(release: RateRelease): void;
  /** Counters held (idle ones are dropped as time passes). */
  readonly size: number;
}

/**
 * @example const limits = createMemoryRateLimitStore(); limits.acquire({ id, nowMs: Date.now(), tokens: 900, rules, leaseMs })
 */
export function createMemoryRateLimitStore(): MemoryRateLimitStore {
  const counters = new Map<string, WindowCounters>();
  /** Where the looks stopped: a live iterator, which sees the counters added since and skips those deleted. */
  let cursor: IterableIterator<[string, WindowCounters]> | undefined;
  let lookedAtMs = Number.NEGATIVE_INFINITY;

  /** Look at the share of the counters the time since the last look calls for, dropping the idle ones. */
  const sweep = (nowMs: number, second: number) => {
    const elapsed = Math.min(passMs, Math.max(0, nowMs - lookedAtMs));
    lookedAtMs = Math.max(lookedAtMs, nowMs);
    const looks = Math.min(counters.size, 8 + Math.ceil((counters.size * elapsed) / passMs));
    let looked = 0;
    while (looked < looks) {
      cursor ??= counters.entries();
      const next = cursor.next();
      if (next.done) {
        // A pass is over: the next starts from the oldest counter.
        cursor = undefined;
        if (counters.size === 0) return;
        continue;
      }
      looked += 1;
      const [scope, counter] = next.value;
      // A counter with nothing in its window and nothing in flight holds no information.
      if (counter.inFlight === 0 && second - counter.touched >= windowSeconds) counters.delete(scope);
    }
  };

  return {
    acquire(request) {
      const second = Math.floor(request.nowMs / 1000);
      sweep(request.nowMs, second);
      const rules = request.rules;
      // Check every rule before taking anything: all or nothing.
      for (let index = 0; index < rules.length; index++) {
        const rule = rules[index]!;
        const counter = counters.get(rule.scope);
        if (!counter) continue;
        counter.advance(second);
        if (rule.rpm > 0) {
          const used = counter.total(1);
          if (used + 1 > rule.rpm) return { ok: false, rule: index, limit: 'rpm', retryAfterMs: counter.retryAfterMs(1, used + 1 - rule.rpm, request.nowMs) };
        }
        if (rule.tpm > 0) {
          const used = counter.total(2);
          if (used + request.tokens > rule.tpm) {
            return { ok: false, rule: index, limit: 'tpm', retryAfterMs: counter.retryAfterMs(2, used + request.tokens - rule.tpm, request.nowMs) };
          }
        }
        if (rule.concurrent > 0 && counter.inFlight + 1 > rule.concurrent) return { ok: false, rule: index, limit: 'concurrent', retryAfterMs: concurrentRetryMs };
      }
      // A request larger than a tpm on its own never passes, even on a fresh counter.
      for (let index = 0; index < rules.length; index++) {
        const rule = rules[index]!;
        if (rule.tpm > 0 && request.tokens > rule.tpm) return { ok: false, rule: index, limit: 'tpm', retryAfterMs: windowSeconds * 1000 };
      }
      for (const rule of rules) {
        const requests = rule.rpm > 0 ? 1 : 0;
        const tokens = rule.tpm > 0 ? request.tokens : 0;
        let counter = counters.get(rule.scope);
        if (counter) counter.add(second, requests, tokens);
        else {
          counter = new WindowCounters(second, requests, tokens);
          counters.set(rule.scope, counter);
        }
        if (rule.concurrent > 0) counter.inFlight++;
      }
      return admitted;
    },

    release(release) {
      const second = Math.floor(release.admittedMs / 1000);
      for (const rule of release.rules) {
        const counter = counters.get(rule.scope);
        if (!counter) continue;
        if (rule.concurrent > 0 && counter.inFlight > 0) counter.inFlight--;
        if (rule.tpm > 0 && release.tokenDelta !== 0) counter.correctTokens(second, release.tokenDelta);
      }
    },

    get size() {
      return counters.size;
    },

    async close() {
      counters.clear();
    },
  };
}
