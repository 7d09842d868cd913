// BudgetGuard reserve + settle with alerts, and the rate-limit stage, 10 users against 1,000,000: node bench/scale-guard.mjs [--dist DIR] [--users N] [--returning N] [--small N]
import path from 'node:path';
import { constants, performance, PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    dist: { type: 'string', default: path.join(path.dirname(path.dirname(fileURLToPath(import.meta.url))), 'dist') },
    users: { type: 'string', default: '1000000' },
    returning: { type: 'string', default: '200000' },
    small: { type: 'string', default: '200000' },
  },
});
const dist = path.resolve(values.dist);
const users = Number(values.users);
const { AlertNotifier } = await import(path.join(dist, 'budgets/alerts.js'));
const { BurnRateTracker, burnRateWindows } = await import(path.join(dist, 'budgets/burn-rate.js'));
const { BudgetGuard } = await import(path.join(dist, 'budgets/guard.js'));
const { alertsSchema } = await import(path.join(dist, 'config/schema.js'));
const { createMemoryBudgetStore } = await import(path.join(dist, 'stores/memory/budget-store.js'));
const { createMemoryRateLimitStore } = await import(path.join(dist, 'stores/memory/rate-limit-store.js'));
const { createRateLimitStage } = await import(path.join(dist, 'gateway/stages/rate-limit-stage.js'));

// As bench/scale.mjs configures them: org, one of 100 departments, one of 100,000 keys and the end user's two budgets;
// a memory BudgetStore, an in-memory alert store, a simulated clock at one millisecond a request (after `npm run build`).
const departments = 100;
const keys = 100_000;
const alerts = alertsSchema.parse({ thresholds: [0.8], burn_rate: { window: '15m', jump: 5 } });
const org = { scope: 'org', budgets: [{ usd: 1_000_000, period: 'month' }], alerts };
const departmentScopes = Array.from({ length: departments }, (_, index) => ({ scope: `department:d${index}`, budgets: [{ usd: 100_000, period: 'day' }], alerts }));
const userBudgets = [{ usd: 5, period: 'day' }, { tokens: 10_000_000, period: 'month' }];
const keyBudgets = [{ usd: 50, period: 'day' }];
/** The budget stage keeps each key's scopes while the key lives; a user's scope is made per request. */
const keyScopes = new Array(keys);
function scopesOf(user) {
  const department = user % departments;
  const key = user % keys;
  keyScopes[key] ??= [org, departmentScopes[department],
    { scope: `key:k${key}`, label: `key:d${department}/k${key}`, budgets: keyBudgets, alerts }];
  return [...keyScopes[key], { scope: `user:d${department}/u${user}`, budgets: userBudgets, alerts }];
}

const alertStore = {
  sequence: 0,
  async record(event) { return { ...event, id: (this.sequence += 1), kind: event.kind ?? 'threshold', status: 'none', attempts: 0 }; },
  async markDelivery() {},
  async list() { return []; },
};
const clock = { now: Date.UTC(2026, 11, 6, 12) };
const burnRate = new BurnRateTracker([burnRateWindows(alerts.burn_rate)]);
const notifier = new AlertNotifier({ store: alertStore, clock: () => clock.now, burnRate });
const settings = { min_output_tokens: 16, on_store_unavailable: 'fail_closed', local_cap_usd: 1 };
const guard = new BudgetGuard({ store: createMemoryBudgetStore(), settings, clock: () => clock.now, alerts: notifier, burnRate });
const pricing = { inputMicrosPerMtok: 150_000, outputMicrosPerMtok: 600_000, cachedInputMicrosPerMtok: 75_000, cacheWriteMicrosPerMtok: 150_000 };
const usage = { inputTokens: 40, outputTokens: 20, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 };

let sequence = 0;
async function request(user) {
  clock.now += 1;
  const handle = await guard.reserve({
    requestId: `r${sequence++}`, scopes: scopesOf(user), pricing, prompt: { bound: 40 }, requestedMaxTokens: 20, modelMaxOutput: 4096,
  });
  await guard.settle(handle, { usage });
}

/**
 * The store alone, on its own memory store: the same five counters a request reserves and settles, their keys cached
 * per scope as the guard caches them (10,000 scopes, then it starts over), so both hand the store strings alike.
 */
let bareStore = createMemoryBudgetStore();
const counterKeysOf = new Map();
function scopeKeys(scope, suffixes) {
  let keys = counterKeysOf.get(scope);
  if (keys === undefined) {
    keys = suffixes.map((suffix) => `${scope}|${suffix}`);
    if (counterKeysOf.size >= 10_000) counterKeysOf.clear();
    counterKeysOf.set(scope, keys);
  }
  return keys;
}
async function storeRequest(user) {
  const department = user % departments;
  const counterKeys = [
    ...scopeKeys('org', ['usd:month|2026-12']), ...scopeKeys(`department:d${department}`, ['usd:day|2026-12-06']),
    ...scopeKeys(`key:k${user % keys}`, ['usd:day|2026-12-06']),
    ...scopeKeys(`user:d${department}/u${user}`, ['usd:day|2026-12-06', 'tokens:month|2026-12']),
  ];
  const id = `s${sequence++}`;
  await bareStore.decideAndReserve(id, clock.now, counterKeys, () => counterKeys.map((counterKey) => ({ counterKey, amount: 100, limit: 1e15 })));
  await bareStore.settle(id, counterKeys.map(() => 50));
}

/**
 * The rate-limit stage (admit, then finish) on the memory store, as bench/scale.mjs configures it: a `user_rate_limit`
 * on every department, none on keys or departments, so each request carries its end user's rule only.
 */
const userRateLimit = { rpm: 1_000_000, tpm: 1_000_000_000, concurrent: 16 };
const rateDepartments = Array.from({ length: departments }, (_, index) => ({ name: `d${index}`, rateLimit: null, userRateLimit }));
const rateKeys = new Array(keys);
const rateConfig = { keyPolicies: new Map(), departments: new Map() };
const rateStore = createMemoryRateLimitStore();
const rateStage = createRateLimitStage(rateStore, () => rateConfig, () => 60_000, () => clock.now);
const completed = { kind: 'completed', clientGone: false };
async function rateLimitRequest(user) {
  clock.now += 1;
  const department = user % departments;
  const key = user % keys;
  rateKeys[key] ??= { id: `k${key}`, name: `k${key}`, department: `d${department}`, source: 'api' };
  const context = {
    id: `r${sequence++}`, route: 'chat', key: rateKeys[key], department: rateDepartments[department], user: `u${user}`,
    state: { promptBound: 40 }, maxOutputTokens: 20, upstreamRequest: {}, outcome: completed, usageEstimated: false, usage,
  };
  await rateStage.admit(context);
  await rateStage.finish(context);
}

/** Garbage-collection pauses as V8 reports them (after the fact: a phase's requests never yield to the event loop). */
const collections = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) collections.push(entry);
}).observe({ entryTypes: ['gc'] });

/** CPU µs per request over `count` requests, one after another; `gc` is filled in from the pauses inside its time. */
async function phase(count, userOf, run) {
  const before = process.cpuUsage();
  const start = performance.now();
  for (let step = 0; step < count; step += 1) await run(userOf(step));
  const cpu = process.cpuUsage(before);
  return { cpu: (cpu.user + cpu.system) / count, count, start, end: performance.now(), gc: 0, full: 0 };
}

/** Each phase's garbage-collection pauses, µs per request, and its full (mark-compact) collections. */
async function attributeCollections(measures) {
  await new Promise((resolve) => setTimeout(resolve, 100));
  for (const measure of measures) {
    const inside = collections.filter((entry) => entry.startTime >= measure.start && entry.startTime < measure.end);
    measure.gc = (inside.reduce((sum, entry) => sum + entry.duration, 0) * 1000) / measure.count;
    measure.full = inside.filter((entry) => entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR).length;
  }
}

const small = Number(values.small);
const returning = Number(values.returning);

/** CPU µs per request of 10 users, of every user's first request, and of returning users drawn at random. */
async function phases(run) {
  let seed = 42;
  const randomUser = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % users;
  };
  await phase(small / 4, (step) => step % 10, run); // warm-up: compiled code, the 10 users' first requests
  return [
    await phase(small, (step) => step % 10, run),
    await phase(users, (step) => (step * 7_919) % users, run),
    await phase(returning, randomUser, run),
  ];
}

// The rate-limit stage first, then the store alone, each dropped after: their per-user state would make the guard's
// collections slower.
const rateLimit = await phases(rateLimitRequest);
const rateCounters = rateStore.size;
rateKeys.fill(undefined);
await rateStore.close();
const storeAlone = await phases(storeRequest);
bareStore = undefined;
counterKeysOf.clear();
const total = await phases(request);
await notifier.idle();
await attributeCollections([...rateLimit, ...storeAlone, ...total]);
const names = ['10 users', `${users.toLocaleString('en-US')} users, first request each`, 'returning users (random)'];
const base = total[0].cpu - storeAlone[0].cpu;
// CPU time counts every thread, so the concurrent marking of full collections too; GC is the main thread's pauses.
console.log('| phase | µs per request (GC; full GCs) | store alone (GC; full GCs) | guard (difference) | guard vs 10 users | rate-limit stage (GC; full GCs) |');
console.log('|---|--:|--:|--:|--:|--:|');
const withGc = (measure) => `${measure.cpu.toFixed(2)} (${measure.gc.toFixed(2)}; ${measure.full})`;
for (const [index, name] of names.entries()) {
  const guardOnly = total[index].cpu - storeAlone[index].cpu;
  console.log(`| ${name} | ${withGc(total[index])} | ${withGc(storeAlone[index])} | ${guardOnly.toFixed(2)} | ${(guardOnly / base).toFixed(2)}x | ${withGc(rateLimit[index])} |`);
}
console.log(`alerts raised: ${alertStore.sequence}; scopes cached: ${guard.cachedScopes}; burn-rate counters: ${burnRate.size}; rate-limit counters after the returning users: ${rateCounters}`);
