// The embedded RateLimitStore: every counter in this process's memory, checked and taken synchronously.
import { admitted, concurrentRetryMs, SecondBuckets, windowSeconds, type RateDecision, type RateLimitStore, type RateRelease, type RateRequest } from '../../guards/rate-limits.js';

interface Counters {
  requests: SecondBuckets;
  tokens: SecondBuckets;
  inFlight: number;
  /** The last second it was used: idle counters are dropped, so a million end users seen once do not stay in memory. */
  touched: number;
}

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
  const counters = new Map<string, Counters>();
  let sweptAt = 0;

  const sweep = (second: number) => {
    // Once a window: a counter with nothing in its window and nothing in flight holds no information.
    if (second - sweptAt < windowSeconds) return;
    sweptAt = second;
    for (const [scope, counter] of counters) {
      if (counter.inFlight === 0 && second - counter.touched >= windowSeconds) counters.delete(scope);
    }
  };

  return {
    acquire(request) {
      const second = Math.floor(request.nowMs / 1000);
      sweep(second);
      const rules = request.rules;
      // Check every rule before taking anything: all or nothing.
      for (let index = 0; index < rules.length; index++) {
        const rule = rules[index]!;
        const counter = counters.get(rule.scope);
        if (!counter) continue;
        if (rule.rpm > 0) {
          const used = counter.requests.total(second);
          if (used + 1 > rule.rpm) return { ok: false, rule: index, limit: 'rpm', retryAfterMs: counter.requests.retryAfterMs(used + 1 - rule.rpm, request.nowMs) };
        }
        if (rule.tpm > 0) {
          const used = counter.tokens.total(second);
          if (used + request.tokens > rule.tpm) {
            return { ok: false, rule: index, limit: 'tpm', retryAfterMs: counter.tokens.retryAfterMs(used + request.tokens - rule.tpm, request.nowMs) };
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
        let counter = counters.get(rule.scope);
        if (!counter) {
          counter = { requests: new SecondBuckets(), tokens: new SecondBuckets(), inFlight: 0, touched: second };
          counters.set(rule.scope, counter);
        }
        counter.touched = second;
        if (rule.rpm > 0) counter.requests.add(second, 1);
        if (rule.tpm > 0) counter.tokens.add(second, request.tokens);
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
        if (rule.tpm > 0 && release.tokenDelta !== 0) counter.tokens.correct(second, release.tokenDelta);
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
