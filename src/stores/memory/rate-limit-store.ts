// The embedded RateLimitStore: every counter in this process's memory, checked and taken synchronously.
import { admitted, concurrentRetryMs, windowSeconds, WindowCounters, type RateDecision, type RateLimitStore, type RateRelease, type RateRequest } from '../../guards/rate-limits.js';

/**
 * How often idle counters are looked for. A counter is dropped once it has been idle for a whole window; swept only
 * once a window, counters of up to two windows of new end users would be held, swept this often about one.
 */
const sweepSeconds = 10;

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
  let sweptAt = 0;

  const sweep = (second: number) => {
    // A counter with nothing in its window and nothing in flight holds no information.
    if (second - sweptAt < sweepSeconds) return;
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
