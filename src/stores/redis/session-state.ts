// Agent sessions' hot state in Redis (distributed mode): one JSON value per session, changed by compare-and-set.
import type { Redis } from 'ioredis';
import type { SessionState } from '../../sessions/state.js';
import type { SessionStateStore, StateChange } from '../../sessions/store.js';
import { connectRedis, luaScript, runScript } from './connection.js';

/** Write ARGV[2] only if the value is still ARGV[1] ('' for none): the read and the write of a change become one step. */
const compareAndSet = luaScript(`
local current = redis.call('GET', KEYS[1])
if (current or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
`);

export interface RedisSessionStateOptions {
  redisUrl: string;
  /** Every key starts with it, e.g. "covenant:covenant:". */
  prefix: string;
  onError?: (error: unknown, where: string) => void;
  /** Compare-and-set attempts before a change gives up (only when that many replicas change one session at once). */
  maxAttempts?: number;
}

/**
 * Every replica changes a session by reading its value, deciding, and writing only if nobody wrote in between
 * (a Lua compare-and-set); a lost race decides again on the newer value. Values expire after their idle time.
 */
export async function createRedisSessionStateStore(options: RedisSessionStateOptions): Promise<SessionStateStore> {
  const redis: Redis = await connectRedis({ url: options.redisUrl, onError: (error) => options.onError?.(error, 'redis connection (sessions)') });
  const keyOf = (session: string) => `${options.prefix}session:${session}`;
  const maxAttempts = options.maxAttempts ?? 200;
  /** The last queued change of each session in this process: its changes run one after another. */
  const queues = new Map<string, Promise<unknown>>();
  const attempt = async <T>(session: string, change: (state: SessionState | undefined) => StateChange<T>): Promise<T> => {
    const key = keyOf(session);
    for (let count = 0; count < maxAttempts; count += 1) {
      const current = await redis.get(key);
      const outcome = change(current === null ? undefined : (JSON.parse(current) as SessionState));
      if (outcome.state === null) return outcome.result;
      const written = await runScript(redis, compareAndSet, [key], [current ?? '', JSON.stringify(outcome.state), Math.max(1, Math.round(outcome.ttlMs))]);
      if (written === 1) return outcome.result;
    }
    throw new Error(`session ${session}: ${maxAttempts} concurrent changes in a row; giving up`);
  };
  return {
    update<T>(session: string, change: (state: SessionState | undefined) => StateChange<T>): Promise<T> {
      // Concurrent steps of one session in this process wait for each other instead of racing: only other replicas'
      // changes can then make a compare-and-set fail, so a burst of steps costs two round trips each, not a retry storm.
      const previous = queues.get(session) ?? Promise.resolve();
      const next = previous.then(() => attempt(session, change), () => attempt(session, change));
      queues.set(session, next);
      const forget = () => { if (queues.get(session) === next) queues.delete(session); };
      next.then(forget, forget);
      return next;
    },
    async get(session) {
      const value = await redis.get(keyOf(session));
      return value === null ? undefined : (JSON.parse(value) as SessionState);
    },
    async delete(session) {
      await redis.del(keyOf(session));
    },
    async close() {
      redis.disconnect();
    },
  };
}
