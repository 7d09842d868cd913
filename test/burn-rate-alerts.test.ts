// Burn-rate alerts through the budget guard: projected exhaustion and rate jumps, once per window, Slack payloads, bounded tracking.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AlertNotifier, alertListEntry } from '../src/budgets/alerts.js';
import { BurnRateTracker, burnRateWindows } from '../src/budgets/burn-rate.js';
import { BudgetGuard, type BudgetScope, type BudgetSettings } from '../src/budgets/guard.js';
import type { AlertsConfig } from '../src/config/schema.js';
import { alertsSchema } from '../src/config/schema.js';
import type { ModelPricing } from '../src/core/pricing.js';
import { createSqliteAlertStore } from '../src/stores/sqlite/alert-store.js';
import { createSqliteBudgetStore } from '../src/stores/sqlite/budget-store.js';
import { openDatabase } from '../src/stores/sqlite/database.js';

// One token costs one micro-dollar.
const pricing: ModelPricing = { inputMicrosPerMtok: 1_000_000, outputMicrosPerMtok: 1_000_000, cachedInputMicrosPerMtok: 1_000_000, cacheWriteMicrosPerMtok: 1_000_000 };
const settings: BudgetSettings = { min_output_tokens: 16, on_store_unavailable: 'fail_closed', local_cap_usd: 1 };
const usage = (inputTokens: number, outputTokens: number) => ({ inputTokens, outputTokens, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 });
const minute = 60_000;

/** A webhook receiver on 127.0.0.1 that answers 503 to the first `failFirst` posts. */
async function startReceiver(failFirst: number): Promise<{ url: string; bodies: Record<string, unknown>[]; statuses: number[]; server: Server }> {
  const bodies: Record<string, unknown>[] = [];
  const statuses: number[] = [];
  const server = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk) => { text += chunk; });
    request.on('end', () => {
      const status = statuses.length < failFirst ? 503 : 200;
      statuses.push(status);
      bodies.push(JSON.parse(text) as Record<string, unknown>);
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, bodies, statuses, server };
}

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

function setup(alerts: AlertsConfig, clock: { now: number }) {
  const database = openDatabase(':memory:');
  cleanups.push(() => database.close());
  const alertStore = createSqliteAlertStore(database);
  const burnRate = new BurnRateTracker([burnRateWindows(alerts.burn_rate)]);
  const notifier = new AlertNotifier({ store: alertStore, clock: () => clock.now, baseDelayMs: 20, maxAttempts: 4, burnRate });
  const guard = new BudgetGuard({ store: createSqliteBudgetStore(database), settings, clock: () => clock.now, alerts: notifier, burnRate });
  // $1 a day for the department.
  const scopes: BudgetScope[] = [{ scope: 'department:claims', budgets: [{ usd: 1, period: 'day' }], alerts }];
  const spend = async (tokens: number) => {
    const handle = await guard.reserve({ requestId: 'r', scopes, pricing, prompt: { bound: 10 }, requestedMaxTokens: tokens, modelMaxOutput: 100_000 });
    await guard.settle(handle, { usage: usage(10, tokens - 10) });
  };
  return { alertStore, notifier, spend, burnRate };
}

describe('burn-rate alerts', () => {
  it('alerts once when the recent rate exhausts the budget before the day ends, with the projected time', async () => {
    const alerts = alertsSchema.parse({ thresholds: [0.9], burn_rate: { window: '10m', jump: 100 } });
    const clock = { now: Date.UTC(2024, 4, 1, 12) };
    const { alertStore, notifier, spend } = setup(alerts, clock);
    // 1,000 micros a minute for ten minutes: $0.06 an hour lasts the day (12 hours left need $0.72 of $0.99).
    for (let step = 0; step <= 10; step += 1) {
      await spend(1000);
      clock.now += minute;
    }
    await notifier.idle();
    expect(await alertStore.list()).toEqual([]);
    // Then 10,000 in the minute to 12:11: spent is 21,000; at 12:01 it was 2,000, so the last ten minutes spent 19,000
    // (114,000 an hour). The 979,000 left go in 979,000 × 600,000 / 19,000 = 30,915,789.47 ms, rounded up: 20:46, before midnight.
    await spend(10_000);
    await notifier.idle();
    const [alert] = await alertStore.list();
    expect(alert.kind).toBe('projected_exhaustion');
    expect(alert.ratePerHour).toBe(114_000);
    expect(alert.projectedAt).toBe(Date.UTC(2024, 4, 1, 12, 11) + 30_915_790);
    // Still running out: no second alert of the kind in this window.
    await spend(10_000);
    await notifier.idle();
    expect((await alertStore.list()).map((record) => record.kind)).toEqual(['projected_exhaustion']);
    expect(alertListEntry(alert)).toMatchObject({
      kind: 'projected_exhaustion', projected_exhaustion_at: '2024-05-01T20:46:15.790Z', rate_per_hour: '0.114000', status: 'none',
    });
  });

  it('alerts on a jump well above the trailing baseline, delivering a Slack payload after failed attempts', async () => {
    const receiver = await startReceiver(2);
    cleanups.push(() => new Promise((resolve) => receiver.server.close(() => resolve())));
    const alerts = alertsSchema.parse({ thresholds: [0.99], webhook: receiver.url, format: 'slack', burn_rate: { window: '5m', jump: 5, baseline: '20m' } });
    const clock = { now: Date.UTC(2024, 4, 1, 0, 0) };
    const { alertStore, notifier, spend } = setup(alerts, clock);
    // Baseline: 100 micros a minute for 25 minutes (slow enough to last the day).
    for (let step = 0; step <= 25; step += 1) {
      await spend(100);
      clock.now += minute;
    }
    await notifier.idle();
    expect(await alertStore.list()).toEqual([]);
    // A loop: 600 a minute is six times the baseline, still lasting the day.
    for (let step = 0; step < 5; step += 1) {
      await spend(600);
      clock.now += minute;
    }
    await notifier.idle();
    const listed = (await alertStore.list()).map(alertListEntry);
    expect(listed.map((entry) => entry.kind)).toEqual(['rate_jump']);
    expect(listed[0]).toMatchObject({ status: 'delivered', attempts: 3, delivered: true, baseline_per_hour: '0.006000' });
    expect(receiver.statuses).toEqual([503, 503, 200]);
    const body = receiver.bodies[2] as { text: string; blocks: { type: string; text: { type: string; text: string } }[] };
    expect(body.text).toMatch(/^Spend rate of budget department:claims \(usd per day\) jumped to \$0\.\d+\/hour, against a baseline of \$0\.006000\/hour/);
    expect(body.blocks).toEqual([{ type: 'section', text: { type: 'mrkdwn', text: body.text } }]);
  });

  it('keeps no burn-rate alerts without a burn_rate section, and rejects a bad duration', async () => {
    const clock = { now: Date.UTC(2024, 4, 1, 23) };
    const { alertStore, notifier, spend } = setup(alertsSchema.parse({ thresholds: [0.99] }), clock);
    await spend(50_000);
    clock.now += minute;
    await spend(50_000);
    await notifier.idle();
    expect(await alertStore.list()).toEqual([]);
    expect(alertsSchema.safeParse({ thresholds: [0.5], burn_rate: { window: '15 minutes' } }).success).toBe(false);
    expect(alertsSchema.safeParse({ thresholds: [0.5], format: 'teams' }).success).toBe(false);
  });
});

describe('burn-rate tracker', () => {
  it('bounds the counters it tracks, dropping the least recently seen', () => {
    const tracker = new BurnRateTracker([burnRateWindows(undefined)], { maxCounters: 100 });
    for (let user = 0; user < 1000; user += 1) tracker.observe(`user:claims/u${user}|usd:day|2024-05-01`, 1000 + user, user);
    tracker.observe('org|usd:day|2024-05-01', 5000, 1);
    expect(tracker.size).toBe(100);
    const budget = { spent: 1, limit: 10, periodEnd: 1e13 };
    expect(tracker.reading('user:claims/u0|usd:day|2024-05-01', 6000, budget, burnRateWindows(undefined)).recentPerMs).toBe(0);
  });

  it('reads a counter that comes after one was dropped as a fresh counter, without the dropped samples', () => {
    const windows = burnRateWindows({ window: '10m', jump: 5 });
    const bounded = new BurnRateTracker([windows], { maxCounters: 2 });
    const roomy = new BurnRateTracker([windows]);
    const budget = { spent: 0, limit: 1e9, periodEnd: 1e13 };
    for (const tracker of [bounded, roomy]) {
      // A busy counter with an hour of samples, then two new ones: the first new one drops the busy counter.
      for (let second = 0; second < 3600; second += 10) tracker.observe('org|usd:day|2024-05-01', second * 1000, second * 100);
      tracker.observe('key:k1|usd:day|2024-05-01', 3_600_000, 7);
      tracker.observe('user:claims/u1|usd:day|2024-05-01', 3_601_000, 3);
      tracker.observe('user:claims/u1|usd:day|2024-05-01', 3_661_000, 603);
    }
    expect(bounded.size).toBe(2);
    for (const counterKey of ['key:k1|usd:day|2024-05-01', 'user:claims/u1|usd:day|2024-05-01']) {
      expect(bounded.reading(counterKey, 3_700_000, budget, windows)).toEqual(roomy.reading(counterKey, 3_700_000, budget, windows));
    }
    expect(bounded.reading('user:claims/u1|usd:day|2024-05-01', 3_700_000, budget, windows).recentPerMs).toBe(600 / 600_000);
    // The dropped counter, seen again, starts over from one sample.
    bounded.observe('org|usd:day|2024-05-01', 3_800_000, 400_000);
    expect(bounded.reading('org|usd:day|2024-05-01', 3_800_000, budget, windows).recentPerMs).toBe(0);
  });

  it('expires counters idle past the window and baseline, and keeps a bounded number of samples each', () => {
    const windows = burnRateWindows({ window: '10m', jump: 5 }); // baseline 40m: retention 50m
    const tracker = new BurnRateTracker([windows]);
    tracker.observe('user:claims/idle|usd:day|2024-05-01', 0, 5);
    // One busy counter, a settle every second for two hours.
    for (let second = 0; second < 7200; second += 1) tracker.observe('org|usd:day|2024-05-01', second * 1000, second);
    expect(tracker.size).toBe(1);
    // The busy counter's rate is still exact to its sample resolution: 600 per 10 minutes.
    const reading = tracker.reading('org|usd:day|2024-05-01', 7199_000, { spent: 7199, limit: 1e9, periodEnd: 1e13 }, windows);
    expect(reading.recentPerMs * 600_000).toBeGreaterThanOrEqual(540);
    expect(reading.recentPerMs * 600_000).toBeLessThanOrEqual(660);
    expect(reading.baselinePerMs).toBeDefined();
  });
});
