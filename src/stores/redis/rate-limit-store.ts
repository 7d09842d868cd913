// The distributed RateLimitStore: counters in Redis, each request's check-and-take one Lua script, so replicas share one limit.
import type { Redis } from 'ioredis';
import { CovenantError } from '../../core/errors.js';
import { admitted, type RateDecision, type RateLimitKind, type RateLimitStore, type RateRelease, type RateRequest, type RateRule } from '../../guards/rate-limits.js';
import { connectRedis, runScript } from './connection.js';
import { acquireScript, releaseScript } from './rate-limit-scripts.js';

export interface RedisRateLimitStoreOptions {
  /** e.g. redis://127.0.0.1:6379 */
  redisUrl: string;
  /** Every key starts with it (e.g. "covenant:"), so deployments and tests share one server. */
  prefix: string;
  /** Commands slower than this fail (the request is refused); default 2000 ms. */
  commandTimeoutMs?: number;
  onError?: (error: unknown, context: string) => void;
}

export interface RedisRateLimitStore extends RateLimitStore {
  ping(): Promise<void>;
}

function unavailable(cause: unknown): CovenantError {
  const error = new CovenantError('rate_limit_store_unavailable');
  error.cause = cause;
  return error;
}

/**
 * Redis down is not an error at start: calls are refused with 503 (fail closed) until it is back.
 *
 * @example const limits = await createRedisRateLimitStore({ redisUrl: 'redis://127.0.0.1:6379', prefix: 'covenant:' });
 */
export async function createRedisRateLimitStore(options: RedisRateLimitStoreOptions): Promise<RedisRateLimitStore> {
  const redis: Redis = await connectRedis({
    url: options.redisUrl,
    commandTimeoutMs: options.commandTimeoutMs,
    onError: (error) => options.onError?.(error, 'redis connection (rate limits)'),
  });
  const keysOf = (rules: readonly RateRule[]): string[] => {
    const keys: string[] = [];
    for (const rule of rules) keys.push(`${options.prefix}rate:${rule.scope}`, `${options.prefix}rate-in-flight:${rule.scope}`);
    return keys;
  };
  return {
    async acquire(request: RateRequest): Promise<RateDecision> {
      const args: (string | number)[] = [request.nowMs, request.leaseMs, request.id, request.tokens];
      for (const rule of request.rules) args.push(rule.rpm, rule.tpm, rule.concurrent);
      let reply: unknown;
      try {
        reply = await runScript(redis, acquireScript, keysOf(request.rules), args);
      } catch (error) {
        throw unavailable(error);
      }
      const [status, rule, limit, retry] = reply as [string, number?, string?, number?];
      if (status === 'ok') return admitted;
      return { ok: false, rule: Number(rule) - 1, limit: limit as RateLimitKind, retryAfterMs: Number(retry) };
    },

    async release(release: RateRelease): Promise<void> {
      const args: (string | number)[] = [release.id, Math.floor(release.admittedMs / 1000), release.nowMs, release.tokenDelta];
      for (const rule of release.rules) args.push(rule.tpm > 0 ? 1 : 0, rule.concurrent > 0 ? 1 : 0);
      try {
        await runScript(redis, releaseScript, keysOf(release.rules), args);
      } catch (error) {
        // The slot is freed when its lease ends; the tokens stay counted at the worst case (never under).
        throw unavailable(error);
      }
    },

    async ping() {
      await redis.ping();
    },

    async close() {
      redis.disconnect();
    },
  };
}
