// The distributed BudgetStore: hot counters in Redis (one Lua script per step), durable spend in PostgreSQL.
//
// Protocol (PostgreSQL first, like a write-ahead log, so Redis can always be rebuilt without under-counting):
//   reserve  1. commit the reservation row in PostgreSQL (group-committed per event-loop turn)
//            2. Lua: check every budget, then increment every counter, or refuse (nothing changes)
//            3. refused: delete the row, then release in Redis (a rebuild between 1 and 3 may have restored it)
//   settle   1. one PostgreSQL statement: delete the row, add the amounts to budget_spend, record the settlement
//            2. Lua: move the reservation into spent with the recorded amounts (a retry re-applies nothing)
//   rebuild  when the ready marker is absent (Redis flushed or restarted) or names another server run (a restored
//            snapshot), one replica at a time (advisory lock) loads spend and open reservations from one
//            PostgreSQL snapshot; until then every script refuses to run, so no request is served on stale counters.
// Any failure to reach Redis or PostgreSQL throws CovenantError('budget_store_unavailable') (503): fail closed.
import type { Redis } from 'ioredis';
import type { BudgetStore, CounterRecord, CounterState, Reservation, ReserveResult, SettleAmounts, SettleResult, SpendFilter } from '../../budgets/store.js';
import { parseCounterKey } from '../../core/budget-math.js';
import { windowEndedBefore } from '../../core/periods.js';
import { CovenantError } from '../../core/errors.js';
import type { PostgresDatabase } from '../postgres/database.js';
import { PostgresBudgetRecords } from '../postgres/budget-records.js';
import { pruneScript, reserveScript, readScript, settleScript, spendScript } from './budget-scripts.js';
import { connectRedis, runScript, serverRunId, type LuaScript } from './connection.js';

export interface RedisBudgetStoreOptions {
  /** e.g. redis://127.0.0.1:6379 */
  redisUrl: string;
  /** Every Redis key starts with it (e.g. "covenant:"), so several deployments or tests share one server. */
  prefix: string;
  /** The PostgreSQL stores' database (createPostgresStores(...).database); the budget tables are migrated into it. */
  postgres: PostgresDatabase;
  /** Redis commands slower than this fail (the request is refused); default 2000 ms. */
  commandTimeoutMs?: number;
  /** Settlement records are kept this long for idempotent retries and repairs; default 7 days. */
  settlementRetentionMs?: number;
  /** Background problems: Redis connection errors, a failed cleanup after a refusal. */
  onError?: (error: unknown, context: string) => void;
}

export interface RedisBudgetStore extends BudgetStore {
  /** Reload Redis from PostgreSQL now (normally automatic when the marker is missing or stale). */
  rebuild(): Promise<void>;
  /** One PING: resolves when Redis answers (the connection's command timeout bounds it). */
  ping(): Promise<void>;
}

const dayMs = 86_400_000;
/** Counters read from PostgreSQL, then Redis, at a time while listing closed windows. */
const closedPageSize = 1000;

const compare = (left: string, right: string) => (left < right ? -1 : left > right ? 1 : 0);

/**
 * Connect to Redis and PostgreSQL and return the store. Redis being down at start is not an error: calls fail
 * with 503 until it is back, and the counters are rebuilt before the first one is served.
 *
 * @example const budgets = await createRedisBudgetStore({ redisUrl: 'redis://127.0.0.1:6379', prefix: 'covenant:', postgres: stores.database });
 */
export async function createRedisBudgetStore(options: RedisBudgetStoreOptions): Promise<RedisBudgetStore> {
  const records = await unavailableOnError(() => PostgresBudgetRecords.open(options.postgres));
  const redis = await connectRedis({
    url: options.redisUrl,
    commandTimeoutMs: options.commandTimeoutMs,
    onError: (error) => options.onError?.(error, 'redis connection'),
  });
  return new RedisBudgets(redis, records, options);
}

function unavailable(cause: unknown): CovenantError {
  if (cause instanceof CovenantError) return cause;
  const error = new CovenantError('budget_store_unavailable');
  error.cause = cause;
  return error;
}

async function unavailableOnError<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw unavailable(error);
  }
}

function checkedAmount(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${what} must be a non-negative safe integer, got ${value}`);
  return value;
}

/** Parse a flat reply of counterKey, spent, reserved triples. */
function countersFrom(reply: unknown[], start: number): CounterState[] {
  const counters: CounterState[] = [];
  for (let index = start; index + 2 < reply.length; index += 3) {
    counters.push({ counterKey: String(reply[index]), spent: Number(reply[index + 1]), reserved: Number(reply[index + 2]) });
  }
  return counters;
}

class RedisBudgets implements RedisBudgetStore {
  readonly #redis: Redis;
  readonly #records: PostgresBudgetRecords;
  readonly #options: RedisBudgetStoreOptions;
  readonly #keys: string[];
  /** Resolves once this connection's server run was checked against the marker; reset when the connection drops. */
  #verified: Promise<void> | undefined;
  #rebuilding: Promise<void> | undefined;
  #lastPrune = 0;

  constructor(redis: Redis, records: PostgresBudgetRecords, options: RedisBudgetStoreOptions) {
    this.#redis = redis;
    this.#records = records;
    this.#options = options;
    // One hash tag, so all of a deployment's budget keys live in one Redis Cluster slot (scripts touch several).
    const base = `${options.prefix}{budget}`;
    this.#keys = [`${base}:ready`, `${base}:spent`, `${base}:reserved`, `${base}:reservations`, `${base}:reservation_times`];
    redis.on('close', () => {
      this.#verified = undefined;
    });
  }

  async read(counterKeys: readonly string[]): Promise<Map<string, CounterState>> {
    const reply = await unavailableOnError(() => this.#script(readScript, counterKeys));
    const counters = new Map<string, CounterState>();
    counterKeys.forEach((counterKey, index) => {
      const spent = reply[1 + index * 2];
      const reserved = reply[2 + index * 2];
      if (spent === null && reserved === null) return;
      counters.set(counterKey, { counterKey, spent: Number(spent ?? 0), reserved: Number(reserved ?? 0) });
    });
    return counters;
  }

  async tryReserve(reservation: Reservation): Promise<ReserveResult> {
    const items = reservation.items.map((item) => {
      checkedAmount(item.amount, 'a reservation amount');
      if (!Number.isFinite(item.limit)) throw new Error(`a budget limit must be a finite number, got ${item.limit}`);
      return [item.counterKey, item.amount] as [string, number];
    });
    // Redis known to be down: refuse before writing anything.
    if (this.#redis.status !== 'ready') throw unavailable(new Error(`Redis is ${this.#redis.status}`));
    const inserted = await unavailableOnError(() =>
      this.#records.insertReservation({ id: reservation.id, createdAt: reservation.createdAt, items }));
    if (!inserted) throw new Error(`Reservation id "${reservation.id}" is already in use`);
    let reply: unknown[];
    try {
      reply = await this.#script(reserveScript, [
        reservation.id,
        reservation.createdAt,
        JSON.stringify(items.map(([counterKey, amount]) => [counterKey, String(amount)])),
        ...reservation.items.flatMap((item) => [item.counterKey, item.amount, item.limit]),
      ]);
    } catch (error) {
      // Not granted as far as the caller knows: take the row back (if Redis did grant it before timing out,
      // recoverOrphans releases the Redis side, since PostgreSQL no longer holds it).
      await this.#records.deleteReservation(reservation.id).catch((cleanup: unknown) => this.#report(cleanup, 'reservation cleanup'));
      throw unavailable(error);
    }
    if (reply[0] === 'ok') return { ok: true };
    await this.#forgetRefused(reservation.id);
    return { ok: false, counterKey: String(reply[1]), counters: countersFrom(reply, 2) };
  }

  async settle(id: string, actual: SettleAmounts): Promise<SettleResult> {
    return this.#finish(id, Array.from(actual, (amount) => (amount === undefined ? null : Math.max(0, Math.ceil(amount)))));
  }

  async release(id: string): Promise<SettleResult> {
    return this.#finish(id, null);
  }

  async recoverOrphans(createdBefore: number): Promise<number> {
    return unavailableOnError(async () => {
      const ids = await this.#records.orphanIds(createdBefore);
      // An empty actual settles every item at its reservation: the worst case.
      const outcomes = await Promise.all(ids.map((id) => this.#records.finish({ id, actual: [] })));
      await Promise.all(outcomes.map((outcome, index) => (outcome.amounts ? this.#applyInRedis(ids[index], outcome.amounts) : undefined)));
      await this.#repairRedis(createdBefore, new Set(ids));
      await this.#pruneSettlements();
      return outcomes.filter((outcome) => outcome.applied).length;
    });
  }

  async spend(filter: SpendFilter = {}): Promise<CounterRecord[]> {
    if (filter.windowKeys?.length === 0) return [];
    const closed = filter.closedBefore;
    if (closed !== undefined) return unavailableOnError(() => this.#closedSpend(filter, closed));
    const reply = await unavailableOnError(() => this.#script(spendScript, spendPatterns(filter)));
    const spent = reply[1] as string[];
    const reserved = reply[2] as string[];
    const counters = new Map<string, { spent: number; reserved: number }>();
    const entry = (counterKey: string) => counters.get(counterKey) ?? counters.set(counterKey, { spent: 0, reserved: 0 }).get(counterKey)!;
    for (let index = 0; index < spent.length; index += 2) entry(spent[index]).spent = Number(spent[index + 1]);
    for (let index = 0; index < reserved.length; index += 2) entry(reserved[index]).reserved = Number(reserved[index + 1]);
    const records: CounterRecord[] = [];
    for (const [counterKey, values] of counters) {
      const parts = parseCounterKey(counterKey);
      if (filter.scope !== undefined && parts.scope !== filter.scope) continue;
      if (filter.scopePrefix !== undefined && !parts.scope.startsWith(filter.scopePrefix)) continue;
      if (filter.windowKeys !== undefined && !filter.windowKeys.includes(parts.windowKey)) continue;
      records.push({ counterKey, ...parts, ...values });
    }
    records.sort((left, right) => compare(left.scope, right.scope) || compare(left.counterKey, right.counterKey));
    return filter.limit === undefined ? records : records.slice(0, filter.limit);
  }

  exclusively<T>(name: string, work: () => Promise<T>): Promise<T | undefined> {
    return unavailableOnError(() => this.#records.exclusively(`${name}:${this.#options.prefix}`, work));
  }

  async pruneCounters(counters: readonly { counterKey: string; spent: number }[]): Promise<string[]> {
    if (counters.length === 0) return [];
    return unavailableOnError(async () => {
      // Redis decides (atomically against the hot counters), then PostgreSQL follows, so a rebuild cannot bring back
      // a counter that only Redis had forgotten for long (it is pruned again on the next pass).
      const reply = await this.#script(pruneScript, counters.flatMap(({ counterKey, spent }) => [counterKey, spent]));
      const pruned = reply.slice(1) as string[];
      const spentOf = new Map(counters.map(({ counterKey, spent }) => [counterKey, spent]));
      await this.#records.deleteSpend(pruned.map((counterKey) => [counterKey, spentOf.get(counterKey) as number]));
      return pruned;
    });
  }

  async rebuild(): Promise<void> {
    await unavailableOnError(() => this.#rebuild(true));
  }

  async ping(): Promise<void> {
    await this.#redis.ping();
  }

  async close(): Promise<void> {
    // The PostgreSQL pool belongs to the caller (the records stores share it).
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }

  /**
   * Counters of windows that are over, without reading the open ones: PostgreSQL lists the windows and, page by page
   * in (scope, counter key) order, the counters of each one over (budget_spend has a row for every counter ever
   * settled); Redis gives their hot amounts. A counter Redis does not hold is left out, as spend() leaves it out.
   */
  async #closedSpend(filter: SpendFilter, closed: { cutoff: number; timeZone: string }): Promise<CounterRecord[]> {
    const limit = filter.limit ?? Number.POSITIVE_INFINITY;
    const records: CounterRecord[] = [];
    for (const { windowKey, counterKey } of await this.#records.windows()) {
      if (records.length >= limit) break;
      if (filter.windowKeys !== undefined && !filter.windowKeys.includes(windowKey)) continue;
      if (!windowEndedBefore(parseCounterKey(counterKey).period, windowKey, closed.cutoff, closed.timeZone)) continue;
      let after: { scope: string; counterKey: string } | undefined;
      while (records.length < limit) {
        const page = await this.#records.windowCounters(windowKey, Math.min(closedPageSize, limit - records.length), after);
        if (page.length === 0) break;
        after = page[page.length - 1];
        const values = await this.read(page.map((row) => row.counterKey));
        for (const row of page) {
          const value = values.get(row.counterKey);
          if (value === undefined || value.reserved !== 0) continue;
          if (filter.scope !== undefined && row.scope !== filter.scope) continue;
          if (filter.scopePrefix !== undefined && !row.scope.startsWith(filter.scopePrefix)) continue;
          records.push({ ...parseCounterKey(row.counterKey), ...value });
        }
      }
    }
    return records;
  }

  /** Settle (amounts) or release (null): PostgreSQL decides and records, then Redis follows. */
  async #finish(id: string, actual: readonly (number | null)[] | null): Promise<SettleResult> {
    const outcome = await unavailableOnError(() => this.#records.finish({ id, actual }));
    if (outcome.amounts === null) return { applied: false, counters: [] };
    // Also when already settled: a settle whose Redis step failed earlier is completed now (the script is a no-op otherwise).
    const counters = await unavailableOnError(() => this.#applyInRedis(id, outcome.amounts as Record<string, number>));
    if (!outcome.applied) return { applied: false, counters: [] };
    if (counters.length > 0) return { applied: true, counters };
    // Redis was rebuilt after PostgreSQL committed, so the spend came with the rebuild: read the counters.
    return { applied: true, counters: [...(await this.read(Object.keys(outcome.amounts))).values()] };
  }

  async #applyInRedis(id: string, amounts: Record<string, number>): Promise<CounterState[]> {
    const reply = await this.#script(settleScript, [id, 'amounts', ...Object.entries(amounts).flat()]);
    return reply[0] === 'applied' ? countersFrom(reply, 1) : [];
  }

  /** After a refusal: the row goes first, then any copy a rebuild restored into Redis meanwhile. */
  async #forgetRefused(id: string): Promise<void> {
    try {
      await this.#records.deleteReservation(id);
      await this.#script(settleScript, [id, 'release']);
    } catch (error) {
      // Left behind, it is an over-count (never an under-count) until recoverOrphans ends it.
      this.#report(error, 'refused reservation cleanup');
    }
  }

  /** Reservations Redis holds past the cutoff that PostgreSQL already finished: apply the recorded result, or drop them. */
  async #repairRedis(createdBefore: number, handled: Set<string>): Promise<void> {
    const held = (await this.#redis.zrangebyscore(this.#keys[4], '-inf', `(${createdBefore}`)).filter((id) => !handled.has(id));
    if (held.length === 0) return;
    const { reserved, settled } = await this.#records.lookup(held);
    await Promise.all(held.map((id) => {
      if (reserved.has(id)) return undefined; // still open in PostgreSQL: a later recovery converts it
      const amounts = settled.get(id);
      return amounts ? this.#applyInRedis(id, amounts) : this.#script(settleScript, [id, 'release']);
    }));
  }

  async #pruneSettlements(): Promise<void> {
    const now = Date.now();
    if (now - this.#lastPrune < 3_600_000) return;
    this.#lastPrune = now;
    await this.#records.pruneSettlements(this.#options.settlementRetentionMs ?? 7 * dayMs);
  }

  /** Run a script on verified counters, rebuilding first when the marker says Redis lost them. */
  async #script(script: LuaScript, args: readonly (string | number)[]): Promise<unknown[]> {
    await this.#verify();
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const reply = (await runScript(this.#redis, script, this.#keys, args)) as unknown[];
      if (reply[0] !== 'rebuild') return reply;
      await this.#rebuild(false);
    }
    throw new Error('Redis lost the budget counters again during each rebuild');
  }

  /** Once per connection: a marker naming another server run means a restart restored an old snapshot. */
  #verify(): Promise<void> {
    this.#verified ??= (async () => {
      const [runId, marker] = await Promise.all([serverRunId(this.#redis), this.#redis.get(this.#keys[0])]);
      if (marker !== runId) await this.#rebuild(false);
    })().catch((error: unknown) => {
      this.#verified = undefined;
      throw error;
    });
    return this.#verified;
  }

  /** Rebuild Redis from PostgreSQL unless (when not forced) another replica already did for this server run. */
  #rebuild(force: boolean): Promise<void> {
    this.#rebuilding ??= this.#records
      .withRebuildLock(this.#options.prefix, async () => {
        const runId = await serverRunId(this.#redis);
        if (!force && (await this.#redis.get(this.#keys[0])) === runId) return;
        const snapshot = await this.#records.snapshot();
        const reserved = new Map<string, number>();
        for (const reservation of snapshot.reservations) {
          for (const [counterKey, amount] of reservation.items) reserved.set(counterKey, (reserved.get(counterKey) ?? 0) + amount);
        }
        const [marker, spentKey, reservedKey, reservationsKey, timesKey] = this.#keys;
        // MULTI: readers see the old state or the whole new one; the marker, set last, opens the counters again.
        const multi = this.#redis.multi().del(marker, spentKey, reservedKey, reservationsKey, timesKey);
        for (const chunk of chunks([...snapshot.spent].flat(), 2000)) multi.hset(spentKey, ...chunk);
        for (const chunk of chunks([...reserved].flat(), 2000)) multi.hset(reservedKey, ...chunk);
        for (const chunk of chunks(snapshot.reservations.flatMap((reservation) => [
          reservation.id, JSON.stringify(reservation.items.map(([counterKey, amount]) => [counterKey, String(amount)])),
        ]), 2000)) multi.hset(reservationsKey, ...chunk);
        for (const chunk of chunks(snapshot.reservations.flatMap((reservation) => [reservation.createdAt, reservation.id]), 2000)) {
          multi.zadd(timesKey, ...chunk);
        }
        multi.set(marker, runId);
        const results = await multi.exec();
        const failed = results?.find(([error]) => error !== null);
        if (results === null || failed) throw failed?.[0] ?? new Error('Redis discarded the rebuild transaction');
      })
      .finally(() => {
        this.#rebuilding = undefined;
      });
    return this.#rebuilding;
  }

  #report(error: unknown, context: string): void {
    this.#options.onError?.(error, context);
  }
}

function chunks<T>(values: T[], size: number): T[][] {
  const result: T[][] = [];
  for (let start = 0; start < values.length; start += size) result.push(values.slice(start, start + size));
  return result;
}

/** Redis glob text that matches `text` literally. */
function globLiteral(text: string): string {
  return text.replace(/[\\*?[\]]/g, (character) => `\\${character}`);
}

/**
 * The counter-key patterns (`scope|unit:period|window`, core/budget-math.ts) a spend filter needs; none for all.
 * Filtering again in JavaScript afterwards keeps the result exact whatever the patterns let through.
 */
export function spendPatterns(filter: SpendFilter): string[] {
  const scope = filter.scope !== undefined ? `${globLiteral(filter.scope)}|` : filter.scopePrefix !== undefined ? `${globLiteral(filter.scopePrefix)}*|` : '*|';
  if (filter.windowKeys === undefined) return filter.scope === undefined && filter.scopePrefix === undefined ? [] : [`${scope}*`];
  return filter.windowKeys.map((windowKey) => `${scope}*|${globLiteral(windowKey)}`);
}
