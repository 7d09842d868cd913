// The gateway-facing budget guard: 402s that name the budget, lowered max_tokens, idempotent settles, rollovers, store failures.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BudgetGuard, type BudgetScope, type BudgetSettings } from '../src/budgets/guard.js';
import { createMemoryBudgetStore } from '../src/stores/memory/budget-store.js';
import { createSqliteBudgetStore } from '../src/stores/sqlite/budget-store.js';
import type { BudgetStore } from '../src/budgets/store.js';
import { counterKeyFor } from '../src/core/budget-math.js';
import { CovenantError } from '../src/core/errors.js';
import { periodWindow } from '../src/core/periods.js';
import type { ModelPricing } from '../src/core/pricing.js';
import { openDatabase } from '../src/stores/sqlite/database.js';

const pricing: ModelPricing = { inputMicrosPerMtok: 150_000, outputMicrosPerMtok: 600_000, cachedInputMicrosPerMtok: 75_000, cacheWriteMicrosPerMtok: 150_000 };
const settings: BudgetSettings = { min_output_tokens: 16, on_store_unavailable: 'fail_closed', local_cap_usd: 1 };
const usage = (inputTokens: number, outputTokens: number) => ({ inputTokens, outputTokens, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 });
const noon = Date.UTC(2024, 4, 1, 12);

function clockAt(start: number) {
  const clock = { now: start, read: () => clock.now };
  return clock;
}

async function counter(store: BudgetStore, key: string) {
  const found = (await store.read([key])).get(key);
  return { spent: found?.spent ?? 0, reserved: found?.reserved ?? 0 };
}

const claims: BudgetScope[] = [
  { scope: 'org', budgets: [{ usd: 10_000, period: 'month' }] },
  { scope: 'department:claims', budgets: [{ usd: 500, period: 'day' }, { tokens: 50_000_000, period: 'month' }] },
];

describe('BudgetGuard.reserve', () => {
  it('refuses with a 402 that names the scope, period, limit and spend', async () => {
    const store = createMemoryBudgetStore();
    const clock = clockAt(noon);
    const guard = new BudgetGuard({ store, settings, clock: clock.read });
    const key = counterKeyFor('department:claims', 'usd', 'day', '2024-05-01');
    // 500 micros left: the 5000-token prompt alone costs 750.
    await store.tryReserve({ id: 'earlier', createdAt: noon, items: [{ counterKey: key, amount: 499_999_500, limit: 500_000_000 }] });
    await store.settle('earlier', []);
    const attempt = guard.reserve({ requestId: 'r1', scopes: claims, pricing, prompt: { bound: 5000 }, modelMaxOutput: 16_384 });
    await expect(attempt).rejects.toBeInstanceOf(CovenantError);
    const error = await attempt.catch((caught: CovenantError) => caught);
    expect(error.status).toBe(402);
    expect(error.toBody().error.type).toBe('budget_exceeded');
    expect(error.message).toMatch(/^Budget exceeded for department:claims \(usd per day\): limit \$500\.000000, spent \$499\.999500, reserved \$0\.000000/);
  });

  it('lowers max_tokens near a limit and reserves in every budget at once', async () => {
    const store = createMemoryBudgetStore();
    const guard = new BudgetGuard({ store, settings, clock: () => noon });
    const scopes: BudgetScope[] = [...claims, { scope: 'key:triage-bot', budgets: [{ usd: 0.001, period: 'day' }] }];
    const handle = await guard.reserve({ requestId: 'r1', scopes, pricing, prompt: { bound: 1000 }, requestedMaxTokens: 4000, modelMaxOutput: 16_384 });
    // $0.001 = 1000 micros; the prompt takes 150, 850 buys 1416 output tokens at $0.60/M.
    expect([handle.maxTokens, handle.lowered]).toEqual([1416, true]);
    expect(await counter(store, counterKeyFor('key:triage-bot', 'usd', 'day', '2024-05-01'))).toEqual({ spent: 0, reserved: 1000 });
    expect(await counter(store, counterKeyFor('department:claims', 'tokens', 'month', '2024-05'))).toEqual({ spent: 0, reserved: 1000 + 1416 });
  });

  it('counts exactly only when the bound would lower max_tokens or refuse', async () => {
    const store = createMemoryBudgetStore();
    const guard = new BudgetGuard({ store, settings, clock: () => noon });
    let exactCalls = 0;
    const prompt = { bound: 4000, exact: () => { exactCalls += 1; return 1000; } };
    const far = await guard.reserve({ requestId: 'far', scopes: claims, pricing, prompt, modelMaxOutput: 16_384 });
    expect([exactCalls, far.promptCount, far.promptTokens]).toEqual([0, 'bound', 4000]);
    // A 2000-micro budget: with the bound (600 micros of prompt) 2333 output tokens; with the exact count 3083.
    const near = await guard.reserve({ requestId: 'near', scopes: [{ scope: 'key:small', budgets: [{ usd: 0.002, period: 'day' }] }], pricing, prompt, modelMaxOutput: 16_384 });
    expect([exactCalls, near.promptCount, near.promptTokens, near.maxTokens]).toEqual([1, 'exact', 1000, 3083]);
  });

  it('does not touch the store when no budget applies', async () => {
    const failing = { read: () => Promise.reject(new Error('down')) } as unknown as BudgetStore;
    const guard = new BudgetGuard({ store: failing, settings });
    const handle = await guard.reserve({ requestId: 'r', scopes: [{ scope: 'org', budgets: [] }], pricing, prompt: { bound: 10 }, requestedMaxTokens: 100, modelMaxOutput: 50 });
    expect([handle.maxTokens, handle.lowered]).toEqual([50, true]);
    await guard.settle(handle, { usage: usage(10, 50) });
  });
});

describe('BudgetGuard.settle and release', () => {
  it('settles to the bill once; later settles and releases change nothing', async () => {
    const store = createMemoryBudgetStore();
    const guard = new BudgetGuard({ store, settings, clock: () => noon });
    const handle = await guard.reserve({ requestId: 'r', scopes: claims, pricing, prompt: { bound: 1000 }, requestedMaxTokens: 500, modelMaxOutput: 16_384 });
    await guard.settle(handle, { usage: usage(900, 200) });
    await guard.settle(handle, { usage: usage(900, 200) });
    await guard.release(handle);
    const dayKey = counterKeyFor('department:claims', 'usd', 'day', '2024-05-01');
    expect(await counter(store, dayKey)).toEqual({ spent: Math.ceil((900 * 150_000 + 200 * 600_000) / 1e6), reserved: 0 });
    expect(await counter(store, counterKeyFor('department:claims', 'tokens', 'month', '2024-05'))).toEqual({ spent: 1100, reserved: 0 });
  });

  it('keeps the worst case when the usage is unknown (an abandoned stream), and nothing on release', async () => {
    const store = createMemoryBudgetStore();
    const guard = new BudgetGuard({ store, settings, clock: () => noon });
    const orgKey = counterKeyFor('org', 'usd', 'month', '2024-05');
    const abandoned = await guard.reserve({ requestId: 'a', scopes: claims, pricing, prompt: { bound: 1000 }, requestedMaxTokens: 1000, modelMaxOutput: 16_384 });
    await guard.settle(abandoned, {});
    const failed = await guard.reserve({ requestId: 'b', scopes: claims, pricing, prompt: { bound: 1000 }, requestedMaxTokens: 1000, modelMaxOutput: 16_384 });
    await guard.release(failed);
    await guard.settle(failed, { usage: usage(1000, 1000) });
    expect(await counter(store, orgKey)).toEqual({ spent: 150 + 600, reserved: 0 });
  });

  it('lands a settle after midnight in the day the request started, leaving the new day untouched', async () => {
    const store = createMemoryBudgetStore();
    const clock = clockAt(Date.UTC(2024, 4, 1, 23, 59, 59, 900));
    const guard = new BudgetGuard({ store, settings, clock: clock.read });
    const handle = await guard.reserve({ requestId: 'late', scopes: claims, pricing, prompt: { bound: 1000 }, requestedMaxTokens: 100, modelMaxOutput: 16_384 });
    clock.now = Date.UTC(2024, 4, 2, 0, 0, 5);
    await guard.settle(handle, { usage: usage(1000, 100) });
    expect(await counter(store, counterKeyFor('department:claims', 'usd', 'day', '2024-05-01'))).toEqual({ spent: 210, reserved: 0 });
    expect(await counter(store, counterKeyFor('department:claims', 'usd', 'day', '2024-05-02'))).toEqual({ spent: 0, reserved: 0 });
    const next = await guard.reserve({ requestId: 'next', scopes: claims, pricing, prompt: { bound: 1000 }, requestedMaxTokens: 100, modelMaxOutput: 16_384 });
    expect(await counter(store, counterKeyFor('department:claims', 'usd', 'day', '2024-05-02'))).toEqual({ spent: 0, reserved: 210 });
    await guard.release(next);
  });

  it("puts every end user's spend in the window of its own time, across midnight and a DST change in the org's zone", async () => {
    const store = createMemoryBudgetStore();
    const clock = clockAt(Date.UTC(2024, 2, 10, 4)); // 23:00 on 9 March in New York; clocks go forward at 02:00 on the 10th
    const guard = new BudgetGuard({ store, settings, clock: clock.read });
    const budgets = [{ usd: 5, period: 'hour' as const }, { usd: 5, period: 'day' as const }, { tokens: 100_000, period: 'week' as const }];
    // A new user every 7 minutes for 30 hours, the first user again each time, and one in UTC (another org's zone):
    // windows shared by all, checked for each.
    for (let step = 0; step < 260; step += 1) {
      for (const [user, timeZone] of [[`u${step}`, 'America/New_York'], ['u0', 'America/New_York'], ['utc', 'UTC']]) {
        const scope = `user:claims/${user}`;
        const handle = await guard.reserve({ requestId: `${user}.${step}`, scopes: [{ scope, budgets }], timeZone, pricing, prompt: { bound: 10 }, requestedMaxTokens: 16, modelMaxOutput: 1000 });
        await guard.settle(handle, { usage: usage(10, 6) });
        for (const [unit, period] of [['usd', 'hour'], ['usd', 'day'], ['tokens', 'week']] as const) {
          const window = periodWindow(period, new Date(clock.now), timeZone);
          const spent = (await counter(store, counterKeyFor(scope, unit, period, window.key))).spent;
          expect(spent, `${scope} ${period} at ${new Date(clock.now).toISOString()}`).toBeGreaterThan(0);
        }
      }
      clock.now += 7 * 60_000;
    }
    const days = (await store.spend({ scope: 'user:claims/u0' })).filter((record) => record.period === 'day').map((record) => record.windowKey);
    expect(days).toEqual(['2024-03-09', '2024-03-10', '2024-03-11']);
    const utcDays = (await store.spend({ scope: 'user:claims/utc' })).filter((record) => record.period === 'day').map((record) => record.windowKey);
    expect(utcDays).toEqual(['2024-03-10', '2024-03-11']);
  });

  it("keeps each user's own counters under a department's shared user budgets, and applies a reload's budgets at once", async () => {
    const store = createMemoryBudgetStore();
    const guard = new BudgetGuard({ store, settings, clock: () => noon });
    const userBudgets = [{ usd: 1, period: 'day' as const }, { tokens: 100_000, period: 'month' as const }];
    const reserve = (user: string, budgets: BudgetScope['budgets']) => guard.reserve({
      requestId: user, scopes: [...claims, { scope: `user:claims/${user}`, budgets }], pricing, prompt: { bound: 1000 }, requestedMaxTokens: 100, modelMaxOutput: 16_384,
    });
    for (const user of ['alice', 'bob']) await guard.settle(await reserve(user, userBudgets), { usage: usage(1000, 100) });
    for (const user of ['alice', 'bob']) {
      expect(await counter(store, counterKeyFor(`user:claims/${user}`, 'usd', 'day', '2024-05-01'))).toEqual({ spent: 210, reserved: 0 });
      expect(await counter(store, counterKeyFor(`user:claims/${user}`, 'tokens', 'month', '2024-05'))).toEqual({ spent: 1100, reserved: 0 });
    }
    // A reload lowers alice's day to what she has spent: her next request is refused, naming the new limit.
    const lowered = [{ usd: 0.00021, period: 'day' as const }, userBudgets[1]];
    await expect(reserve('alice', lowered)).rejects.toThrow(/user:claims\/alice \(usd per day\): limit \$0\.000210, spent \$0\.000210/);
  });

  it('converts a crashed process\'s reservations to spend at start', async () => {
    const database = openDatabase(':memory:');
    const store = createSqliteBudgetStore(database);
    const before = new BudgetGuard({ store, settings, clock: () => noon });
    await before.reserve({ requestId: 'in-flight', scopes: claims, pricing, prompt: { bound: 1000 }, requestedMaxTokens: 1000, modelMaxOutput: 16_384 });
    const restarted = new BudgetGuard({ store, settings, clock: () => noon + 60_000 });
    expect(await restarted.recoverOrphans()).toBe(1);
    expect(await counter(store, counterKeyFor('org', 'usd', 'month', '2024-05'))).toEqual({ spent: 750, reserved: 0 });
    database.close();
  });
});

describe('BudgetGuard when the store fails', () => {
  const broken = {
    read: () => Promise.reject(new Error('connection refused')),
    tryReserve: () => Promise.reject(new Error('connection refused')),
  } as unknown as BudgetStore;

  it('fails closed by default: 503 budget_store_unavailable, never unmetered', async () => {
    const errors: unknown[] = [];
    const guard = new BudgetGuard({ store: broken, settings, onError: (error) => errors.push(error) });
    const error = await guard.reserve({ requestId: 'r', scopes: claims, pricing, prompt: { bound: 100 }, modelMaxOutput: 1000 }).catch((caught: CovenantError) => caught);
    expect([error.status, error.code]).toEqual([503, 'budget_store_unavailable']);
    expect(errors).toHaveLength(1);
  });

  it('with local_cap serves under the per-process cap, then refuses', async () => {
    const guard = new BudgetGuard({ store: broken, settings: { ...settings, on_store_unavailable: 'local_cap', local_cap_usd: 0.01 }, localCapStore: createMemoryBudgetStore() });
    // Each request's worst case: 1000 prompt (150) + 1000 output (600) = 750 micros; the cap of 10,000 holds 13,
    // then 250 micros are left: the 14th gets (250 - 150) / 0.6 = 166 output tokens, the 15th is refused.
    const handles = [];
    for (let index = 0; index < 14; index += 1) {
      handles.push(await guard.reserve({ requestId: `r${index}`, scopes: claims, pricing, prompt: { bound: 1000 }, requestedMaxTokens: 1000, modelMaxOutput: 16_384 }));
    }
    expect(handles.map((handle) => handle.maxTokens)).toEqual([...Array(13).fill(1000), 166]);
    const refused = await guard.reserve({ requestId: 'over', scopes: claims, pricing, prompt: { bound: 1000 }, requestedMaxTokens: 1000, modelMaxOutput: 16_384 })
      .catch((caught: CovenantError) => caught);
    expect(refused).toMatchObject({ status: 503, code: 'budget_store_unavailable' });
  });
});

describe('BudgetGuard: concurrent traffic', () => {
  const scopeSets: BudgetScope[][] = [
    [
      { scope: 'org', budgets: [{ usd: 0.05, period: 'day' }] },
      { scope: 'department:claims', budgets: [{ usd: 0.03, period: 'day' }, { tokens: 60_000, period: 'total' }] },
      { scope: 'user:claims/alice', budgets: [{ usd: 0.01, period: 'day' }] },
    ],
    [
      { scope: 'org', budgets: [{ usd: 0.05, period: 'day' }] },
      { scope: 'department:claims', budgets: [{ usd: 0.03, period: 'day' }, { tokens: 60_000, period: 'total' }] },
      { scope: 'key:bot', budgets: [{ usd: 0.02, period: 'hour' }] },
    ],
    [{ scope: 'org', budgets: [{ usd: 0.05, period: 'day' }] }],
  ];
  const limits = new Map<string, number>([
    [counterKeyFor('org', 'usd', 'day', '2024-05-01'), 50_000],
    [counterKeyFor('department:claims', 'usd', 'day', '2024-05-01'), 30_000],
    [counterKeyFor('department:claims', 'tokens', 'total', 'total'), 60_000],
    [counterKeyFor('user:claims/alice', 'usd', 'day', '2024-05-01'), 10_000],
    [counterKeyFor('key:bot', 'usd', 'hour', '2024-05-01T12:00+00:00'), 20_000],
  ]);
  const operation = fc.record({
    scopes: fc.integer({ min: 0, max: scopeSets.length - 1 }),
    prompt: fc.integer({ min: 1, max: 3000 }),
    requested: fc.option(fc.integer({ min: 1, max: 8000 }), { nil: undefined }),
    inputFraction: fc.double({ min: 0, max: 1, noNaN: true }),
    outputFraction: fc.double({ min: 0, max: 1, noNaN: true }),
    end: fc.constantFrom('settle', 'settle', 'unknown usage', 'release'),
    delay: fc.integer({ min: 0, max: 3 }),
  });

  // "read, then tryReserve" hides decideAndReserve, so the guard takes the path of shared stores (Redis): read, decide, retry.
  it.each([['memory'], ['sqlite'], ['sqlite, read then tryReserve']])('for any concurrent reserve/settle/release with usage within the reservation, spend never passes a limit (%s)', async (kind) => {
    await fc.assert(fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 150, size: 'max' }), async (operations) => {
      const database = kind.startsWith('sqlite') ? openDatabase(':memory:') : undefined;
      const opened = database ? createSqliteBudgetStore(database) : createMemoryBudgetStore();
      const store: BudgetStore = kind.endsWith('tryReserve') ? { ...opened, decideAndReserve: undefined } : opened;
      const guard = new BudgetGuard({ store, settings, clock: () => noon });
      const ticks = async (count: number) => { for (let index = 0; index < count; index += 1) await new Promise((resolve) => setImmediate(resolve)); };
      await Promise.all(operations.map(async (step, index) => {
        await ticks(step.delay);
        let handle;
        try {
          handle = await guard.reserve({ requestId: `r${index}`, scopes: scopeSets[step.scopes], pricing, prompt: { bound: step.prompt }, requestedMaxTokens: step.requested, modelMaxOutput: 4096 });
        } catch (error) {
          expect((error as CovenantError).code).toBe('budget_exceeded');
          return;
        }
        // While requests are in flight, reservations plus spend stay within every limit.
        for (const [key, limit] of limits) {
          const { spent, reserved } = await counter(store, key);
          expect(spent + reserved).toBeLessThanOrEqual(limit);
        }
        await ticks(step.delay);
        if (step.end === 'release') return guard.release(handle);
        if (step.end === 'unknown usage') return guard.settle(handle, {});
        return guard.settle(handle, { usage: usage(Math.floor(handle.promptTokens * step.inputFraction), Math.floor(handle.maxTokens * step.outputFraction)) });
      }));
      for (const [key, limit] of limits) {
        const { spent, reserved } = await counter(store, key);
        expect(reserved).toBe(0);
        expect(spent).toBeLessThanOrEqual(limit);
      }
      database?.close();
    }), { numRuns: 60 });
  }, 60_000);
});
