// Redis connection that fails fast (no offline queue, short timeouts) and runs Lua scripts by SHA with a fallback.
import { createHash } from 'node:crypto';
import { Redis, type Command } from 'ioredis';

export interface RedisConnectionOptions {
  /** e.g. redis://127.0.0.1:6379 (rediss:// for TLS; user and password in the URL). */
  url: string;
  /** A command that takes longer fails (the budget store then refuses the request); default 2000 ms. */
  commandTimeoutMs?: number;
  /** Connection errors while Redis is down (reconnection continues in the background). */
  onError?: (error: Error) => void;
}

/**
 * A client for the hot path. Commands issued while disconnected fail at once instead of waiting in a queue: a
 * request must be refused (fail closed) rather than hang. Reconnection continues in the background.
 */
export async function connectRedis(options: RedisConnectionOptions): Promise<Redis> {
  const redis = new Redis(options.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(50 * times, 1000),
  });
  timeCommands(redis, options.commandTimeoutMs ?? 2000);
  redis.on('error', (error: Error) => options.onError?.(error));
  // Not reachable yet is not fatal: calls fail (503) until the background reconnection succeeds.
  await redis.connect().catch(() => undefined);
  return redis;
}

/**
 * Fails a command Redis has not answered within `timeoutMs`. Unlike ioredis's own `commandTimeout`, an answer that
 * arrived while the event loop was busy past the deadline still counts: when the timer fires, the decision waits for
 * the next check phase, after the poll phase has read what the socket holds. A stalled process then serves the answer
 * Redis gave instead of refusing the request as if the store were down.
 */
function timeCommands(redis: Redis, timeoutMs: number): void {
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = ((command: Command, stream?: unknown) => {
    const timer = setTimeout(() => setImmediate(() => {
      if (!command.isSettled) command.reject(new Error('Command timed out'));
    }), timeoutMs);
    const clear = () => clearTimeout(timer);
    command.promise.then(clear, clear);
    return send(command, stream as never);
  }) as typeof redis.sendCommand;
}

/**
 * The server's run id: a new one after every restart, even when a persisted snapshot brought the data back.
 * Where a provider disables INFO, "unknown": a flush or a restart without persistence is still detected (the
 * marker is gone), a restart that restores an old snapshot is not.
 */
export async function serverRunId(redis: Redis): Promise<string> {
  let info: string;
  try {
    info = await redis.info('server');
  } catch (error) {
    if ((error as Error).name === 'ReplyError') return 'unknown';
    throw error;
  }
  const match = /^run_id:([0-9a-f]+)/m.exec(info);
  if (!match) throw new Error('Redis INFO did not report a run_id');
  return match[1];
}

export interface LuaScript {
  source: string;
  sha: string;
}

export function luaScript(source: string): LuaScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/** EVALSHA, loading the script with EVAL when the server does not know it yet (after a restart or SCRIPT FLUSH). */
export async function runScript(redis: Redis, script: LuaScript, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
  try {
    return await redis.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error;
    return redis.eval(script.source, keys.length, ...keys, ...args);
  }
}
