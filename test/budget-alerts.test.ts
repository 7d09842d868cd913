// Budget alerts: webhook POSTed once per threshold per window, retried when the receiver fails, listed for the API.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { AlertNotifier, alertListEntry, crossed } from '../src/budgets/alerts.js';
import { BudgetGuard, type BudgetScope, type BudgetSettings } from '../src/budgets/guard.js';
import { createSqliteAlertStore } from '../src/stores/sqlite/alert-store.js';
import { createSqliteBudgetStore } from '../src/stores/sqlite/budget-store.js';
import type { ModelPricing } from '../src/core/pricing.js';
import { openDatabase, type SqliteDatabase } from '../src/stores/sqlite/database.js';

// $1 per million input and output tokens: one token costs one micro-dollar, so amounts are easy to read.
const pricing: ModelPricing = { inputMicrosPerMtok: 1_000_000, outputMicrosPerMtok: 1_000_000, cachedInputMicrosPerMtok: 1_000_000, cacheWriteMicrosPerMtok: 1_000_000 };
const settings: BudgetSettings = { min_output_tokens: 16, on_store_unavailable: 'fail_closed', local_cap_usd: 1 };
const usage = (inputTokens: number, outputTokens: number) => ({ inputTokens, outputTokens, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 });

interface Received { body: Record<string, unknown>; status: number; at: number }

/** A webhook receiver on 127.0.0.1 that answers 500 to the first `failFirst` posts. */
async function startReceiver(failFirst: number): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  let posts = 0;
  const server = createServer((request: IncomingMessage, response) => {
    let text = '';
    request.on('data', (chunk) => { text += chunk; });
    request.on('end', () => {
      posts += 1;
      const status = posts <= failFirst ? 500 : 200;
      received.push({ body: JSON.parse(text) as Record<string, unknown>, status, at: Date.now() });
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received, server };
}

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

function setup(webhook: string | undefined, clock: { now: number }, database: SqliteDatabase = openDatabase(':memory:')) {
  const alertStore = createSqliteAlertStore(database);
  const errors: unknown[] = [];
  const notifier = new AlertNotifier({ store: alertStore, clock: () => clock.now, baseDelayMs: 50, maxAttempts: 3, onError: (error) => errors.push(error) });
  const guard = new BudgetGuard({ store: createSqliteBudgetStore(database), settings, clock: () => clock.now, alerts: notifier });
  const scopes: BudgetScope[] = [{ scope: 'department:claims', budgets: [{ usd: 0.01, period: 'day' }], alerts: { thresholds: [0.5, 0.8, 1.0], webhook } }];
  const spend = async (tokens: number) => {
    // A 100-token prompt; max_tokens is lowered to the headroom, and the bill stays within the reservation.
    const handle = await guard.reserve({ requestId: 'r', scopes, pricing, prompt: { bound: 100 }, requestedMaxTokens: 9_900, modelMaxOutput: 16_384 });
    expect(tokens).toBeLessThanOrEqual(100 + handle.maxTokens);
    await guard.settle(handle, { usage: usage(100, tokens - 100) });
  };
  return { alertStore, notifier, guard, spend, errors, database };
}

describe('budget alerts', () => {
  it('posts each crossed threshold once, within a second, retrying a receiver that failed', async () => {
    const receiver = await startReceiver(1);
    cleanups.push(() => new Promise((resolve) => receiver.server.close(() => resolve())));
    const clock = { now: Date.UTC(2024, 4, 1, 12) };
    const { alertStore, notifier, spend, database } = setup(receiver.url, clock);
    cleanups.push(() => database.close());

    const settledAt = Date.now();
    await spend(6000); // 6,000 of 10,000 micros: crosses 0.5
    await notifier.idle();
    await spend(2500); // 8,500: crosses 0.8
    await spend(100); // 8,600: nothing new
    await notifier.idle();

    const delivered = receiver.received.filter((entry) => entry.status === 200);
    expect(receiver.received.map((entry) => [entry.body.threshold, entry.status])).toEqual([[0.5, 500], [0.5, 200], [0.8, 200]]);
    expect(delivered[0].at - settledAt).toBeLessThan(1000);
    expect(delivered[0].body).toEqual({
      kind: 'threshold',
      scope: 'department:claims',
      budget: { unit: 'usd', period: 'day', limit: '0.010000', limit_micros: 10_000 },
      spent: '0.006000', spent_micros: 6000, limit: '0.010000', limit_micros: 10_000,
      threshold: 0.5,
      period_start: '2024-05-01T00:00:00.000Z', period_end: '2024-05-02T00:00:00.000Z',
      time: '2024-05-01T12:00:00.000Z',
    });
    const listed = (await alertStore.list()).map(alertListEntry);
    expect(listed.map((entry) => [entry.threshold, entry.status, entry.delivered, entry.attempts])).toEqual([[0.8, 'delivered', true, 1], [0.5, 'delivered', true, 2]]);
  });

  it('alerts once per threshold across processes sharing the store, and again in the next period', async () => {
    const receiver = await startReceiver(0);
    cleanups.push(() => new Promise((resolve) => receiver.server.close(() => resolve())));
    const clock = { now: Date.UTC(2024, 4, 1, 12) };
    const first = setup(receiver.url, clock);
    const second = setup(receiver.url, clock, first.database);
    cleanups.push(() => first.database.close());
    await first.spend(5000);
    await second.spend(100); // the second process sees 5,100 >= 0.5 too, but the store already holds that alert
    await Promise.all([first.notifier.idle(), second.notifier.idle()]);
    expect(receiver.received.map((entry) => entry.body.threshold)).toEqual([0.5]);
    clock.now = Date.UTC(2024, 4, 2, 9);
    await second.spend(5000);
    await second.notifier.idle();
    expect(receiver.received.map((entry) => [entry.body.threshold, entry.body.period_start])).toEqual([
      [0.5, '2024-05-01T00:00:00.000Z'], [0.5, '2024-05-02T00:00:00.000Z'],
    ]);
  });

  it('gives up after the configured attempts and keeps the alert listed as undelivered', async () => {
    const receiver = await startReceiver(100);
    cleanups.push(() => new Promise((resolve) => receiver.server.close(() => resolve())));
    const clock = { now: Date.UTC(2024, 4, 1, 12) };
    const { alertStore, notifier, spend, errors, database } = setup(receiver.url, clock);
    cleanups.push(() => database.close());
    await spend(10_000);
    await notifier.idle();
    expect(receiver.received).toHaveLength(3 * 3); // three thresholds, three attempts each
    const listed = (await alertStore.list({ scope: 'department:claims' })).map(alertListEntry);
    expect(listed.every((entry) => entry.status === 'failed' && entry.delivered === false && entry.attempts === 3 && entry.last_error === 'HTTP 500')).toBe(true);
    expect(errors).toHaveLength(3);
  });

  it('records alerts without a webhook, for GET /admin/alerts', async () => {
    const clock = { now: Date.UTC(2024, 4, 1, 12) };
    const { alertStore, notifier, spend, database } = setup(undefined, clock);
    cleanups.push(() => database.close());
    await spend(9000);
    await notifier.idle();
    expect((await alertStore.list()).map((record) => record.threshold)).toEqual([0.8, 0.5]);
  });

  it('compares spend with thresholds exactly', () => {
    expect(crossed(400_000_000, 500_000_000, 0.8)).toBe(true);
    expect(crossed(399_999_999, 500_000_000, 0.8)).toBe(false);
    expect(crossed(3, 10, 0.3)).toBe(true);
  });

  it('compares exactly where doubles would round: large budgets, one micro either side of the threshold', () => {
    // $10,000,000 a month at 0.8: 8,000,000,000,000 micros is the first amount that crosses.
    expect(crossed(8_000_000_000_000, 10_000_000_000_000, 0.8)).toBe(true);
    expect(crossed(7_999_999_999_999, 10_000_000_000_000, 0.8)).toBe(false);
    // 0.000001 of the largest safe limit, at the edge.
    const limit = Number.MAX_SAFE_INTEGER;
    const edge = Math.ceil(limit / 1_000_000); // spent * 1e6 >= limit first here
    expect(crossed(edge, limit, 0.000001)).toBe(true);
    expect(crossed(edge - 1, limit, 0.000001)).toBe(false);
    fc.assert(fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: -2, max: 2 }),
      (limit, millionths, offset) => {
        const threshold = millionths / 1_000_000;
        // The smallest spent that crosses, exactly, then a few micros either side of it.
        const first = (BigInt(millionths) * BigInt(limit) + 999_999n) / 1_000_000n;
        const spent = Number(first) + offset;
        if (spent < 0 || !Number.isSafeInteger(spent)) return;
        expect(crossed(spent, limit, threshold)).toBe(BigInt(spent) >= first);
      }));
  });
});
