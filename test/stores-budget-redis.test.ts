// The Redis + PostgreSQL budget store: the shared BudgetStore contract, rebuild after a flush or a stale restart,
// idempotent settles across replicas, exactness across replicas, and failing closed (503) when a service is down.
import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { CovenantError } from '../src/core/errors.js';
import { counterKeyFor } from '../src/core/budget-math.js';
import type { BudgetStore, Reservation } from '../src/budgets/store.js';
import { openPostgres, type PostgresDatabase } from '../src/stores/postgres/database.js';
import { PostgresBudgetRecords } from '../src/stores/postgres/budget-records.js';
import { createRedisBudgetStore, type RedisBudgetStore, spendPatterns } from '../src/stores/redis/budget-store.js';
import { pruneClosedWindows } from '../src/budgets/window-pruning.js';
import { runBudgetStoreContract } from './budget-store-contract.js';
import { createTestRedisPrefix, createTestSchema, redisUrl, startTcpProxy, type TestRedisPrefix, type TestSchema } from './helpers/services.js';

/** One deployment: a schema, a key prefix, and any number of replicas (stores with their own pools and connections). */
interface Deployment {
  schema: TestSchema;
  redis: TestRedisPrefix;
  replica(options?: { redisUrl?: string }): Promise<RedisBudgetStore>;
  /** A pool on the deployment's schema, for looking at the durable tables. */
  database(): Promise<PostgresDatabase>;
  cleanup(): Promise<void>;
}

async function deployment(): Promise<Deployment> {
  const schema = createTestSchema();
  const redis = createTestRedisPrefix();
  const databases: PostgresDatabase[] = [];
  const stores: RedisBudgetStore[] = [];
  const database = async () => {
    const opened = await openPostgres({ url: schema.url, schema: schema.schema, max: 4 });
    databases.push(opened);
    return opened;
  };
  return {
    schema,
    redis,
    database,
    async replica(options = {}) {
      const store = await createRedisBudgetStore({
        redisUrl: options.redisUrl ?? redis.url, prefix: redis.prefix, postgres: await database(), commandTimeoutMs: 5000,
      });
      stores.push(store);
      return store;
    },
    async cleanup() {
      for (const store of stores) await store.close();
      for (const opened of databases) await opened.close();
      await schema.drop();
      await redis.cleanup();
    },
  };
}

runBudgetStoreContract('redis + postgres', async () => {
  const setup = await deployment();
  return { store: await setup.replica(), reopen: () => setup.replica(), cleanup: () => setup.cleanup() };
});

const orgDay = counterKeyFor('org', 'usd', 'day', '2024-05-01');
const keyDay = counterKeyFor('key:bot', 'usd', 'day', '2024-05-01');
const userDay = counterKeyFor('user:claims/ålice|x', 'tokens', 'day', '2024-05-01');

let sequence = 0;
function reservation(items: Reservation['items'], createdAt = 1_000): Reservation {
  sequence += 1;
  return { id: `request-${sequence}-${Math.random().toString(36).slice(2)}`, createdAt, items };
}

async function counter(store: BudgetStore, key: string) {
  const found = (await store.read([key])).get(key);
  return { spent: found?.spent ?? 0, reserved: found?.reserved ?? 0 };
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 1));
}

async function durableSpend(database: PostgresDatabase): Promise<Map<string, number>> {
  const result = await database.pool.query<{ counter_key: string; spent: number }>('SELECT counter_key, spent FROM budget_spend');
  return new Map(result.rows.map((row) => [row.counter_key, row.spent]));
}

describe('Redis budget store: distributed behaviour', () => {
  let setup: Deployment;
  afterEach(async () => {
    await setup.cleanup();
  });

  it('prunes a counter from both Redis hashes and from PostgreSQL, so a rebuild does not bring it back', async () => {
    setup = await deployment();
    const store = await setup.replica();
    for (const key of [orgDay, keyDay]) {
      const held = reservation([{ counterKey: key, amount: 100, limit: 1000 }]);
      await store.tryReserve(held);
      await store.settle(held.id, [70]);
    }
    expect(await store.pruneCounters([{ counterKey: orgDay, spent: 70 }])).toEqual([orgDay]);
    const redis = new Redis(redisUrl);
    try {
      const hashes = (await setup.redis.keys()).filter((key) => key.endsWith(':spent') || key.endsWith(':reserved'));
      expect(hashes.length).toBe(2);
      for (const hash of hashes) expect(await redis.hexists(hash, orgDay)).toBe(0);
    } finally {
      redis.disconnect();
    }
    expect(await durableSpend(await setup.database())).toEqual(new Map([[keyDay, 70]]));
    await store.rebuild();
    expect((await store.spend()).map((record) => record.counterKey)).toEqual([keyDay]);
  });

  it('lets one replica at a time report and prune past windows, so each window is reported once', async () => {
    setup = await deployment();
    const replicas = [await setup.replica(), await setup.replica(), await setup.replica()];
    for (const key of [orgDay, keyDay, userDay]) {
      const held = reservation([{ counterKey: key, amount: 10, limit: 1000 }]);
      await replicas[0].tryReserve(held);
      await replicas[0].settle(held.id, [9]);
    }
    const reported: string[] = [];
    const pruned = await Promise.all(replicas.map((store) => pruneClosedWindows({
      store, now: Date.parse('2026-01-01T00:00:00Z'), graceMs: 0, timeZone: 'UTC',
      report: async (counters) => {
        // Slow enough that the other replicas try while this one holds the turn.
        await new Promise((resolve) => setTimeout(resolve, 50));
        reported.push(...counters.map((counter) => counter.counterKey));
      },
    })));
    expect(pruned.reduce((sum, count) => sum + count, 0)).toBe(3);
    expect(reported.sort()).toEqual([keyDay, orgDay, userDay].sort());
    expect(await replicas[1].spend()).toEqual([]);
  });

  it('lists closed windows from PostgreSQL\'s window index page by page, with Redis\'s amounts, skipping reserved counters', async () => {
    setup = await deployment();
    const store = await setup.replica();
    const keys = Array.from({ length: 1_205 }, (_, user) => counterKeyFor(`user:u${String(user).padStart(4, '0')}`, 'usd', 'day', '2024-05-01'));
    const database = await setup.database();
    // Settled spend as PostgreSQL and Redis hold it after many settles, written in bulk.
    await database.pool.query('INSERT INTO budget_spend (counter_key, spent) SELECT unnest($1::text[]), 3', [keys]);
    await store.rebuild();
    // The first page's counters all hold a reservation now: the listing goes on to the next page for them.
    for (const key of keys.slice(0, 1_000)) await store.tryReserve(reservation([{ counterKey: key, amount: 1, limit: 100 }]));
    const closed = await store.spend({ closedBefore: { cutoff: Date.parse('2024-05-02T00:00:00Z'), timeZone: 'UTC' }, limit: 200 });
    expect(closed.map((record) => record.counterKey)).toEqual(keys.slice(1_000, 1_200));
    expect(closed[0]).toMatchObject({ spent: 3, reserved: 0, windowKey: '2024-05-01', period: 'day' });
    const client = await database.pool.connect();
    try {
      // Planned on a table this small, PostgreSQL may prefer a scan; it must be able to read a window from the index.
      await client.query('SET enable_seqscan = off');
      const plan = await client.query(`EXPLAIN SELECT scope, counter_key FROM budget_spend WHERE window_key = $1 AND (scope, counter_key COLLATE "C") > ($2, $3)
        ORDER BY scope, counter_key COLLATE "C" LIMIT 10`, ['2024-05-01', '', '']);
      expect(plan.rows.map((row: { 'QUERY PLAN': string }) => row['QUERY PLAN']).join('\n')).toMatch(/Index (Only )?Scan using budget_spend_window_scope/);
    } finally {
      client.release();
    }
  });

  it('rebuilds the counters from PostgreSQL after its Redis keys are deleted: spend kept, in-flight counted', async () => {
    setup = await deployment();
    const store = await setup.replica();
    const settled = reservation([{ counterKey: orgDay, amount: 500, limit: 1000 }, { counterKey: userDay, amount: 80, limit: 100 }]);
    await store.tryReserve(settled);
    await store.settle(settled.id, [300, 60]);
    const inFlight = reservation([{ counterKey: orgDay, amount: 200, limit: 1000 }]);
    await store.tryReserve(inFlight);

    expect(await setup.redis.deleteKeys()).toBeGreaterThan(0);
    expect(await setup.redis.keys()).toEqual([]);

    // The next call, from any replica, finds the marker gone and rebuilds before answering.
    const other = await setup.replica();
    expect(await counter(other, orgDay)).toEqual({ spent: 300, reserved: 200 });
    expect(await counter(store, userDay)).toEqual({ spent: 60, reserved: 0 });
    // The limit still binds on the rebuilt counters: 300 spent + 200 reserved leaves 500.
    expect((await store.tryReserve(reservation([{ counterKey: orgDay, amount: 501, limit: 1000 }]))).ok).toBe(false);
    // The in-flight reservation settles once, at its actual cost, after the rebuild.
    expect((await other.settle(inFlight.id, [150])).applied).toBe(true);
    expect((await store.settle(inFlight.id, [150])).applied).toBe(false);
    expect(await counter(store, orgDay)).toEqual({ spent: 450, reserved: 0 });
    expect((await durableSpend(await setup.database())).get(orgDay)).toBe(450);
  });

  it('rebuilds when a restart brought back an old snapshot (the marker names another server run)', async () => {
    setup = await deployment();
    const store = await setup.replica();
    const held = reservation([{ counterKey: orgDay, amount: 400, limit: 1000 }]);
    await store.tryReserve(held);
    await store.settle(held.id, [400]);
    // What a snapshot taken before that spend looks like after a restart: old counters, a marker of the old run.
    const raw = new Redis(redisUrl);
    try {
      const base = `${setup.redis.prefix}{budget}`;
      await raw.hset(`${base}:spent`, orgDay, '0');
      await raw.set(`${base}:ready`, 'run-before-the-restart');
    } finally {
      raw.disconnect();
    }
    const restarted = await setup.replica();
    expect(await counter(restarted, orgDay)).toEqual({ spent: 400, reserved: 0 });
    expect((await restarted.tryReserve(reservation([{ counterKey: orgDay, amount: 601, limit: 1000 }]))).ok).toBe(false);
  });

  it('counts a settle once when replicas retry it concurrently, and repairs Redis when only PostgreSQL had it', async () => {
    setup = await deployment();
    const [first, second, third] = [await setup.replica(), await setup.replica(), await setup.replica()];
    const held = reservation([{ counterKey: orgDay, amount: 100, limit: 1000 }, { counterKey: keyDay, amount: 100, limit: 1000 }]);
    await first.tryReserve(held);
    const results = await Promise.all([first, second, third, first].map((store) => store.settle(held.id, [70, 70])));
    expect(results.filter((result) => result.applied)).toHaveLength(1);
    expect(await counter(second, orgDay)).toEqual({ spent: 70, reserved: 0 });
    expect((await durableSpend(await setup.database())).get(orgDay)).toBe(70);

    // A settle committed in PostgreSQL whose Redis step never ran (the process died in between).
    const interrupted = reservation([{ counterKey: orgDay, amount: 200, limit: 1000 }]);
    await first.tryReserve(interrupted);
    const records = await PostgresBudgetRecords.open(await setup.database());
    expect((await records.finish({ id: interrupted.id, actual: [50] })).applied).toBe(true);
    expect(await counter(first, orgDay)).toEqual({ spent: 70, reserved: 200 });
    // The retry applies nothing new in PostgreSQL but completes Redis with the recorded amounts.
    expect((await second.settle(interrupted.id, [50])).applied).toBe(false);
    expect(await counter(first, orgDay)).toEqual({ spent: 120, reserved: 0 });

    // Without a retry, recovery completes it the same way.
    const abandoned = reservation([{ counterKey: orgDay, amount: 300, limit: 1000 }], 500);
    await first.tryReserve(abandoned);
    expect((await records.finish({ id: abandoned.id, actual: [10] })).applied).toBe(true);
    expect(await third.recoverOrphans(Number.MAX_SAFE_INTEGER)).toBe(0);
    expect(await counter(first, orgDay)).toEqual({ spent: 130, reserved: 0 });
    expect((await durableSpend(await setup.database())).get(orgDay)).toBe(130);
  });

  it('never grants past a limit with hundreds of reservations spread over three replicas, even across a flush', async () => {
    setup = await deployment();
    const replicas = [await setup.replica(), await setup.replica(), await setup.replica()];
    const limit = 10_000;
    const granted: Reservation[] = [];
    let settledCount = 0;
    const attempt = async (index: number) => {
      // Spread over ~60 ms, so the flush lands while requests are reserving and settling.
      await new Promise((resolve) => setTimeout(resolve, index % 60));
      const held = reservation([{ counterKey: orgDay, amount: 37, limit }, { counterKey: keyDay, amount: 37, limit: limit * 2 }]);
      const store = replicas[index % replicas.length];
      if ((await store.tryReserve(held)).ok) {
        granted.push(held);
        // Half settle below the reservation, a few release; the rest stay in flight.
        if (index % 2 === 0) {
          await store.settle(held.id, [20, 20]);
          settledCount += 1;
        }
        else if (index % 7 === 0) await store.release(held.id);
      }
    };
    await Promise.all(replicas.map((store) => store.read([orgDay])));
    const attempts = Array.from({ length: 600 }, (_, index) => attempt(index));
    // Flush once some requests have settled and most are still in flight.
    await until(() => settledCount >= 40);
    expect(await setup.redis.deleteKeys()).toBeGreaterThan(0);
    const settledAtFlush = settledCount;
    await Promise.all(attempts);
    expect(settledCount).toBeGreaterThan(settledAtFlush);

    const database = await setup.database();
    const open = await database.pool.query<{ id: string; items: [string, number][] }>('SELECT id, items FROM budget_reservations');
    const openReserved = open.rows.reduce((sum, row) => sum + (row.items.find(([key]) => key === orgDay)?.[1] ?? 0), 0);
    const current = await counter(replicas[1], orgDay);
    // Redis agrees with PostgreSQL: spent with budget_spend, reserved with the open reservation rows.
    expect(current.spent).toBe((await durableSpend(database)).get(orgDay) ?? 0);
    expect(current.reserved).toBe(openReserved);
    expect(current.spent + current.reserved).toBeLessThanOrEqual(limit);
    expect(granted.length).toBeGreaterThan(limit / 37 - 1);
    // Every in-flight reservation converts at its worst case and the total still fits.
    await replicas[2].recoverOrphans(Number.MAX_SAFE_INTEGER);
    const final = await counter(replicas[0], orgDay);
    expect(final.reserved).toBe(0);
    expect(final.spent).toBeLessThanOrEqual(limit);
    expect(final.spent).toBe((await durableSpend(database)).get(orgDay));
  });

  it('refuses with 503 budget_store_unavailable when Redis cannot be reached, and leaves nothing reserved', async () => {
    setup = await deployment();
    const unreachable = await setup.replica({ redisUrl: 'redis://127.0.0.1:1' });
    const held = reservation([{ counterKey: orgDay, amount: 10, limit: 1000 }]);
    const refusal = await unreachable.tryReserve(held).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(CovenantError);
    expect(refusal).toMatchObject({ code: 'budget_store_unavailable', status: 503 });
    await expect(unreachable.read([orgDay])).rejects.toMatchObject({ code: 'budget_store_unavailable' });
    await expect(unreachable.settle(held.id, [])).resolves.toEqual({ applied: false, counters: [] });
    const healthy = await setup.replica();
    expect(await counter(healthy, orgDay)).toEqual({ spent: 0, reserved: 0 });
    const rows = await (await setup.database()).pool.query('SELECT id FROM budget_reservations');
    expect(rows.rowCount).toBe(0);
  });

  it('refuses while Redis is away and, when it comes back empty (restarted), serves again with the spend rebuilt', async () => {
    setup = await deployment();
    const proxy = await startTcpProxy(Number(new URL(redisUrl).port || 6379), new URL(redisUrl).hostname);
    try {
      const store = await setup.replica({ redisUrl: `redis://127.0.0.1:${proxy.port}` });
      const settled = reservation([{ counterKey: orgDay, amount: 300, limit: 1000 }]);
      await store.tryReserve(settled);
      await store.settle(settled.id, [250]);
      const inFlight = reservation([{ counterKey: orgDay, amount: 100, limit: 1000 }]);
      await store.tryReserve(inFlight);

      await proxy.stop();
      await expect(store.tryReserve(reservation([{ counterKey: orgDay, amount: 1, limit: 1000 }])))
        .rejects.toMatchObject({ code: 'budget_store_unavailable', status: 503 });
      await setup.redis.deleteKeys(); // a Redis without persistence comes back empty
      await proxy.start();

      let refusals = 0;
      for (;;) {
        const outcome = await store.tryReserve(reservation([{ counterKey: orgDay, amount: 650, limit: 1000 }])).catch((error: unknown) => error);
        if (!(outcome instanceof CovenantError)) {
          // 250 spent + 100 in flight + 650 = the limit exactly: granted, and nothing more fits.
          expect(outcome).toEqual({ ok: true });
          break;
        }
        expect(outcome.code).toBe('budget_store_unavailable');
        refusals += 1;
        expect(refusals).toBeLessThan(200);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      expect(await counter(store, orgDay)).toEqual({ spent: 250, reserved: 750 });
      expect((await store.tryReserve(reservation([{ counterKey: orgDay, amount: 1, limit: 1000 }]))).ok).toBe(false);
      expect((await store.settle(inFlight.id, [80])).applied).toBe(true);
      expect(await counter(store, orgDay)).toEqual({ spent: 330, reserved: 650 });
    } finally {
      await proxy.stop().catch(() => undefined);
    }
  });

  it('refuses with 503 when PostgreSQL is gone, never granting without the durable record', async () => {
    setup = await deployment();
    const database = await setup.database();
    const store = await createRedisBudgetStore({ redisUrl: setup.redis.url, prefix: setup.redis.prefix, postgres: database });
    try {
      await database.close();
      await expect(store.tryReserve(reservation([{ counterKey: orgDay, amount: 10, limit: 1000 }])))
        .rejects.toMatchObject({ code: 'budget_store_unavailable', status: 503 });
    } finally {
      await store.close();
    }
    const healthy = await setup.replica();
    expect(await counter(healthy, orgDay)).toEqual({ spent: 0, reserved: 0 });
  });
});

describe('spendPatterns (what the Redis store asks HSCAN for)', () => {
  it('matches the current windows of a scope or a prefix, with glob characters in names taken literally', () => {
    expect(spendPatterns({})).toEqual([]);
    expect(spendPatterns({ scopePrefix: 'user:claims/' })).toEqual(['user:claims/*|*']);
    expect(spendPatterns({ scopePrefix: 'user:claims/', windowKeys: ['2024-05-15', '2024-05'] })).toEqual(['user:claims/*|*|2024-05-15', 'user:claims/*|*|2024-05']);
    expect(spendPatterns({ scope: 'user:claims/a*[b]?\\c', windowKeys: ['2024-05'] })).toEqual(['user:claims/a\\*\\[b\\]\\?\\\\c|*|2024-05']);
  });

  it('is taken literally by Redis itself', async () => {
    const redis = new Redis(redisUrl, { lazyConnect: true });
    await redis.connect();
    const hash = `covenant-test-glob-${process.pid}-${Date.now()}`;
    try {
      const names = ['user:claims/a*[b]?\\c', 'user:claims/aX[b]?\\c', 'user:claims/a*b?\\c'];
      for (const name of names) await redis.hset(hash, counterKeyFor(name, 'usd', 'month', '2024-05'), '1');
      const [pattern] = spendPatterns({ scope: names[0], windowKeys: ['2024-05'] });
      const [, fields] = await redis.hscan(hash, '0', 'MATCH', pattern, 'COUNT', 1000);
      expect(fields.filter((_, index) => index % 2 === 0)).toEqual([counterKeyFor(names[0], 'usd', 'month', '2024-05')]);
    } finally {
      await redis.del(hash);
      redis.disconnect();
    }
  });
});
