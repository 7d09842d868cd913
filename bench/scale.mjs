// Scale benchmark: 100,000 keys and 1,000,000 end users under user_budgets against a 10-key run, with RSS and start-up time.
// Usage: node bench/scale.mjs [--seconds N] [--keys N] [--users N] [--api-keys N] [--idle N] [--sample-memory]
// [--skip-small] [--without-user-policies]. The first keys are created through POST /admin/keys, as an operator would
// (its rate is reported); the rest are written straight into the store through
// Covenant's own key store while the gateway is stopped, since a hundred thousand API calls would take most of the run.
// The gateway is then restarted, so the start-up time with every key in the store is measured too.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { Pool } from 'undici';
import { upstreamKeySecret } from './configs.mjs';
import { cpuSeconds, installCleanup, mainThreadSeconds, startServer, stopProcess } from './processes.mjs';
import { compositionLine } from './memory-composition.mjs';
import { requestBody } from './scenarios.mjs';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    keys: { type: 'string', default: '100000' },
    users: { type: 'string', default: '1000000' },
    connections: { type: 'string', default: '16' },
    'api-keys': { type: 'string', default: '200' },
    idle: { type: 'string', default: '0' },
    profile: { type: 'string' },
    'heap-snapshot': { type: 'string' },
    // Print where RSS goes (mappings by kind, V8's spaces, per-user state) at each progress line and after each phase.
    'sample-memory': { type: 'boolean', default: false },
    // Node or V8 flags for the large side's gateway, space-separated, to try one: --gateway-flags=--max-semi-space-size=64.
    'gateway-flags': { type: 'string', default: '' },
    // Skip the 10-key side (its CPU per request is the baseline of the ratios, which are then not printed).
    'skip-small': { type: 'boolean', default: false },
    // Both sides without user_budgets and user_rate_limit (users still sent): what per-user state costs, by difference.
    'without-user-policies': { type: 'boolean', default: false },
  },
});
const { openDatabase } = await import('../dist/stores/sqlite/database.js');
const { SqliteKeyStore } = await import('../dist/stores/sqlite/records.js');
const { budgetDatabasePathOf } = await import('../dist/stores/sqlite/budget-database.js');
const { newSecret, storedDigest } = await import('../dist/gateway/keys.js');
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const work = mkdtempSync(path.join(os.tmpdir(), 'covenant-bench-scale-'));
const adminSecret = 'sk-covenant-bench-admin';
const departments = 100;
installCleanup();

/** Budgets at every level and per end user, far above what a run spends, and burn-rate alerts: the whole guard path. */
function config(upstreamUrl, storePath) {
  const departmentLines = Array.from({ length: departments }, (_, index) => `    - name: d${index}
      budgets: [ { usd: 100000, period: day } ]${values['without-user-policies'] ? '' : `
      user_budgets: [ { usd: 5, period: day }, { tokens: 10000000, period: month } ]
      user_rate_limit: { rpm: 1000000, tpm: 1000000000, concurrent: 16 }`}`).join('\n');
  return `# Written by bench/scale.mjs.
server: { host: 127.0.0.1, port: 0 }
store: sqlite:${storePath}
admin_keys: [ { name: bench-admin, key_env: BENCH_ADMIN_KEY } ]
providers:
  - { name: upstream, type: openai, base_url: ${upstreamUrl}/v1, api_key_env: BENCH_UPSTREAM_KEY }
models:
  - alias: fast
    provider: upstream
    version: gpt-4o-mini-2024-07-18
    price: { input_per_mtok: 0.15, output_per_mtok: 0.60 }
org:
  name: bench
  budgets: [ { usd: 1000000, period: month } ]
  alerts: { thresholds: [0.8], burn_rate: { window: 15m, jump: 5 } }
  departments:
${departmentLines}
`;
}

const environment = { BENCH_ADMIN_KEY: adminSecret, BENCH_UPSTREAM_KEY: upstreamKeySecret };

function rssMegabytes(pid) {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

async function startGateway(name, file, flags = []) {
  const started = performance.now();
  const server = await startServer(name, [...flags, path.join(root, 'bin', 'covenant'), 'serve', '--config', file, '--port', '0'], { environment, timeoutMs: 120_000 });
  return { ...server, startMs: performance.now() - started };
}

/** Create `count` keys through POST /admin/keys, spread over the departments; resolves with their secrets. */
async function createKeys(url, count) {
  const pool = new Pool(url, { connections: 8 });
  const secrets = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      const response = await pool.request({
        path: '/admin/keys', method: 'POST',
        headers: { authorization: `Bearer ${adminSecret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ department: `d${index % departments}`, name: `k${index}`, budgets: [{ usd: 50, period: 'day' }] }),
      });
      const body = await response.body.json();
      if (response.statusCode !== 201) throw new Error(`POST /admin/keys: HTTP ${response.statusCode} ${JSON.stringify(body)}`);
      secrets[index] = body.key;
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  await pool.close();
  return secrets;
}

/**
 * Write keys `from` … `count - 1` into the stopped gateway's store as POST /admin/keys does: a secret naming its key id,
 * kept as its salted digest, source api (so a request finds its key by that id, as with keys made through the API).
 */
async function provisionKeys(storePath, from, count, secrets) {
  const database = openDatabase(storePath);
  const store = new SqliteKeyStore(database);
  const createdAt = new Date().toISOString();
  const pending = [];
  database.transaction(() => {
    for (let index = from; index < count; index += 1) {
      const idHex = randomBytes(10).toString('hex');
      const secret = newSecret(idHex);
      secrets[index] = secret;
      pending.push(store.insert({
        id: `key_${idHex}`, department: `d${index % departments}`, name: `k${index}`, models: null,
        budgets: [{ usd: 50, period: 'day' }], source: 'api', secretHash: storedDigest(secret), createdAt,
      }));
    }
  })();
  await Promise.all(pending);
  database.close();
}

/** Latencies to a summary: requests per second over `windowMs`, p50 and p99 (ms). */
function summary(latencies, windowMs) {
  latencies.sort((a, b) => a - b);
  const percentile = (fraction) => latencies[Math.min(latencies.length - 1, Math.ceil(fraction * latencies.length) - 1)] ?? NaN;
  return { requests: latencies.length, requestsPerSecond: latencies.length / (windowMs / 1000), p50: percentile(0.5), p99: percentile(0.99) };
}

/**
 * Closed loop over `connections`, each request from a random key and the end user `userOf(step)`. Runs `count`
 * requests (every one measured), or, without a count, `warmupSeconds` unmeasured and then `durationSeconds` measured.
 */
async function load(url, secrets, userOf, { count, durationSeconds = 0, warmupSeconds = 0 }) {
  const pool = new Pool(url, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
  const body = requestBody({ model: 'fast', stream: false });
  let step = 0;
  let measuring = count !== undefined;
  // The gateway's CPU time per measured request: unlike req/s, it hardly moves when other work shares the host.
  let cpuStart = count !== undefined ? cpuNow() : undefined;
  let stopping = false;
  const latencies = [];
  let errors = 0;
  const errorSamples = [];
  const worker = async () => {
    while (!stopping && (count === undefined || step < count)) {
      const secret = secrets[Math.floor(Math.random() * secrets.length)];
      const user = userOf(step++);
      if (count !== undefined && step % 50_000 === 0) {
        const rss = progressPid === undefined ? '' : `, gateway RSS ${Math.round(rssMegabytes(progressPid))} MB`;
        process.stderr.write(`  ${step} of ${count} requests, ${Math.round((performance.now() - phaseStarted) / 1000)} s${rss}\n`);
        if (values['sample-memory'] && progressPid !== undefined) sampleMemory(`${step} users`);
      }
      const counted = measuring;
      const started = performance.now();
      try {
        const response = await pool.request({
          path: '/v1/chat/completions', method: 'POST', body,
          headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'x-covenant-user': user },
        });
        const text = await response.body.text();
        if (response.statusCode !== 200) throw new Error(`HTTP ${response.statusCode}: ${text.slice(0, 200)}`);
        if (counted && measuring) latencies.push(performance.now() - started);
      } catch (error) {
        if (counted && measuring) {
          errors += 1;
          if (errorSamples.length < 3) errorSamples.push(error.message);
        }
      }
    }
  };
  if (count !== undefined) await loopDelay(url);
  const phaseStarted = performance.now();
  const workers = Array.from({ length: connections }, worker);
  let windowMs;
  let cpuEnd;
  /** The event loop's longest delay and p99 over the measured window (ms). */
  let delay;
  if (count === undefined) {
    await new Promise((resolve) => setTimeout(resolve, warmupSeconds * 1000));
    measuring = true;
    await loopDelay(url);
    cpuStart = cpuNow();
    const windowStart = performance.now();
    await new Promise((resolve) => setTimeout(resolve, durationSeconds * 1000));
    measuring = false;
    cpuEnd = cpuNow();
    windowMs = performance.now() - windowStart;
    delay = await loopDelay(url);
    stopping = true;
    await Promise.all(workers);
  } else {
    await Promise.all(workers);
    cpuEnd = cpuNow();
    windowMs = performance.now() - phaseStarted;
    delay = await loopDelay(url);
  }
  await pool.close();
  const result = { ...summary(latencies, windowMs), errors, errorSamples };
  const perRequest = (seconds) => (seconds * 1000) / Math.max(1, result.requests + errors);
  return { ...result, cpuMsPerRequest: perRequest(cpuEnd.all - cpuStart.all), mainThreadMsPerRequest: perRequest(cpuEnd.main - cpuStart.main), delay };
}

/**
 * The gateway's CPU seconds so far: all threads, and the main thread's (the event loop's share; the rest is the budget
 * fold and checkpoint threads, and V8's GC helpers).
 */
const cpuNow = () => ({ all: cpuSeconds(gatewayPid), main: mainThreadSeconds(gatewayPid) });

/** The gateway's /metrics, read with the admin key. */
async function metricsText(url) {
  return (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${adminSecret}` } })).text();
}

/** The gateway's own gauges of per-user state in memory (covenant_state_entries), by kind. */
async function stateEntries(url) {
  const text = await metricsText(url);
  const entries = {};
  for (const match of text.matchAll(/^covenant_state_entries\{kind="([^"]+)"\} (\S+)$/gm)) entries[match[1]] = Number(match[2]);
  return entries;
}

/** Rows of budget_counters in the store's budget database (read-only, beside the running gateway: WAL allows it). */
function counterRows(storePath) {
  const database = new Database(budgetDatabasePathOf(storePath), { readonly: true });
  try {
    return database.prepare('SELECT COUNT(*) AS count FROM budget_counters').get().count;
  } finally {
    database.close();
  }
}

/** A walk that visits every one of `users` once before repeating one (a stride coprime with the count). */
const walk = (users) => (step) => `u${(step * 7_919) % users}`;
/** Uniformly random users among the first `users`: with all of them seen before, every request is a returning user's. */
const returning = (users) => () => `u${Math.floor(Math.random() * users)}`;

const nodeFlags = (label) => [
  ...(label === 'large' ? values['gateway-flags'].split(' ').filter((flag) => flag !== '') : []),
  ...(values.profile ? ['--cpu-prof', `--cpu-prof-dir=${values.profile}`, `--cpu-prof-name=${label}.cpuprofile`] : []),
  ...(values['heap-snapshot'] ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${values['heap-snapshot']}`] : []),
];

/** The gateway's heap in use and memory outside the heap (MB), from its /metrics. */
async function heapMegabytes(url) {
  const text = await metricsText(url);
  const read = (name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]) / 1024 / 1024;
  return { heapUsed: read('covenant_process_nodejs_heap_size_used_bytes'), external: read('covenant_process_nodejs_external_memory_bytes') };
}

/**
 * The gateway's event-loop delay since the last read (prom-client resets its histogram at every scrape of /metrics):
 * the longest and the 99th percentile, in ms.
 */
async function loopDelay(url) {
  const text = await metricsText(url);
  const read = (name) => Number(new RegExp(`^covenant_process_nodejs_eventloop_lag_${name}_seconds (\\S+)$`, 'm').exec(text)?.[1]) * 1000;
  return { max: read('max'), p99: read('p99') };
}

/** With --sample-memory, print the gateway's memory composition under `label`. */
async function sampleMemory(label) {
  if (!values['sample-memory']) return;
  try {
    process.stderr.write(`  memory (${label}): ${await compositionLine(gatewayPid, gatewayUrl, adminSecret)}\n`);
  } catch (error) {
    process.stderr.write(`  memory (${label}): ${error.message}\n`);
  }
}

const rows = [];
let expiry;
/** The gateway under load's URL, for --sample-memory. */
let gatewayUrl;
/** The gateway whose RSS the first-request phase reports as it goes. */
let progressPid;
/** The gateway under load, whose CPU time each phase counts. */
let gatewayPid;
const upstream = await startServer('upstream', [path.join(root, 'bench', 'fake-upstream.mjs'), '--port', '0']);
try {
  const large = { label: `${values.keys} keys, ${values.users} users`, keys: Number(values.keys), users: Number(values.users) };
  const sides = values['skip-small'] ? [large] : [{ label: '10 keys, 10 users', keys: 10, users: 10 }, large];
  for (const side of sides) {
    const directory = mkdtempSync(path.join(work, 'side-'));
    const file = path.join(directory, 'covenant.yaml');
    const storePath = path.join(directory, 'covenant.db');
    writeFileSync(file, config(upstream.url, storePath));
    const first = await startGateway('gateway', file);
    const throughApi = Math.min(side.keys, Number(values['api-keys']));
    const creating = performance.now();
    const secrets = await createKeys(first.url, throughApi);
    const apiKeysPerSecond = throughApi / ((performance.now() - creating) / 1000);
    await stopProcess(first.child);
    const provisioning = performance.now();
    await provisionKeys(storePath, throughApi, side.keys, secrets);
    const provisionSeconds = (performance.now() - provisioning) / 1000;
    // Start-up with every key in the store: what a restart or a new replica costs.
    const gateway = await startGateway('gateway', file, nodeFlags(side === large ? 'large' : 'small'));
    const rssAtStart = rssMegabytes(gateway.child.pid);
    gatewayPid = gateway.child.pid;
    gatewayUrl = gateway.url;
    await sampleMemory('at start');
    const row = { ...side, apiKeysPerSecond, provisionSeconds, startMs: gateway.startMs, rssAtStart };
    if (side !== large) {
      row.steady = await load(gateway.url, secrets, walk(side.users), { durationSeconds: seconds, warmupSeconds: 3 });
    } else {
      // Every user's first request, all of them: new counter rows, cache entries and rate-limit windows each.
      progressPid = gateway.child.pid;
      row.first = await load(gateway.url, secrets, walk(side.users), { count: side.users });
      row.rssAfterFirst = rssMegabytes(gateway.child.pid);
      row.heapAfterFirst = await heapMegabytes(gateway.url);
      await sampleMemory('after the first requests');
      if (values['heap-snapshot']) {
        gateway.child.kill('SIGUSR2');
        await new Promise((resolve) => setTimeout(resolve, 30_000));
      }
      // Then returning users only: each request is a user seen before, drawn at random from all of them.
      row.steady = await load(gateway.url, secrets, returning(side.users), { durationSeconds: seconds, warmupSeconds: 3 });
      row.rssAfterSteady = rssMegabytes(gateway.child.pid);
      await sampleMemory('after returning users');
      row.rows = counterRows(storePath);
      if (Number(values.idle) > 0) {
        const before = await stateEntries(gateway.url);
        await new Promise((resolve) => setTimeout(resolve, Number(values.idle) * 1000));
        // A few requests of ten users: sweeps run on the request path and on the store's timers.
        await load(gateway.url, secrets, walk(10), { count: 200 });
        expiry = { before, after: await stateEntries(gateway.url), rss: rssMegabytes(gateway.child.pid), rows: counterRows(storePath) };
        await sampleMemory('after idle');
      }
    }
    row.rssAfter = rssMegabytes(gateway.child.pid);
    rows.push(row);
    await stopProcess(gateway.child, 60_000);
  }
} finally {
  await stopProcess(upstream.child);
  rmSync(work, { recursive: true, force: true });
}

const [small, big] = values['skip-small'] ? [undefined, rows[0]] : rows;
const format = (value, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : '–');
console.log(`\n| run (${connections} connections; budgets org/department/key/user, per-user rate limits, burn-rate alerts) | req/s | p50 ms | p99 ms | gateway CPU ms per request | of it, main thread | errors | RSS |`);
console.log('|---|--:|--:|--:|--:|--:|--:|--:|');
if (small) console.log(`| 10 keys, 10 users: steady state (${seconds} s) | ${Math.round(small.steady.requestsPerSecond)} | ${format(small.steady.p50)} | ${format(small.steady.p99)} | ${format(small.steady.cpuMsPerRequest, 3)} | ${format(small.steady.mainThreadMsPerRequest, 3)} | ${small.steady.errors} | ${Math.round(small.rssAfter)} MB |`);
console.log(`| ${big.label}: first request of every user (${big.first.requests} requests) | ${Math.round(big.first.requestsPerSecond)} | ${format(big.first.p50)} | ${format(big.first.p99)} | ${format(big.first.cpuMsPerRequest, 3)} | ${format(big.first.mainThreadMsPerRequest, 3)} | ${big.first.errors} | ${Math.round(big.rssAfterFirst)} MB after all ${big.users} |`);
console.log(`| ${big.label}: returning users, steady state (${seconds} s) | ${Math.round(big.steady.requestsPerSecond)} | ${format(big.steady.p50)} | ${format(big.steady.p99)} | ${format(big.steady.cpuMsPerRequest, 3)} | ${format(big.steady.mainThreadMsPerRequest, 3)} | ${big.steady.errors} | ${Math.round(big.rssAfterSteady)} MB |`);
const delayText = (phase) => (phase.delay ? `${format(phase.delay.max, 0)} / ${format(phase.delay.p99, 0)} ms` : '–');
console.log(`\nevent-loop delay, longest / p99 (prom-client's monitor, 10 ms resolution):${small ? ` 10 keys ${delayText(small.steady)};` : ''} first requests ${delayText(big.first)}; returning users ${delayText(big.steady)}`);
console.log('\n| keys | POST /admin/keys | keys written to the store in | start-up | RSS at start | budget_counters rows |');
console.log('|--:|--:|--:|--:|--:|--:|');
for (const row of rows) {
  console.log(`| ${row.keys} | ${Math.round(row.apiKeysPerSecond)} keys/s | ${row.provisionSeconds.toFixed(1)} s | ${Math.round(row.startMs)} ms | ${Math.round(row.rssAtStart)} MB | ${row.rows ?? '–'} |`);
}
if (small) console.log(`\nreturning users vs 10 keys: throughput ratio ${(big.steady.requestsPerSecond / small.steady.requestsPerSecond).toFixed(3)}, p99 ratio ${(big.steady.p99 / small.steady.p99).toFixed(3)}, CPU per request ratio ${(big.steady.cpuMsPerRequest / small.steady.cpuMsPerRequest).toFixed(3)} (main thread ${(big.steady.mainThreadMsPerRequest / small.steady.mainThreadMsPerRequest).toFixed(3)}); first requests: CPU per request ratio ${(big.first.cpuMsPerRequest / small.steady.cpuMsPerRequest).toFixed(3)} (main thread ${(big.first.mainThreadMsPerRequest / small.steady.mainThreadMsPerRequest).toFixed(3)})`);
if (expiry) {
  console.log(`\nafter ${values.idle} s idle: per-user state in memory ${JSON.stringify(expiry.before)} -> ${JSON.stringify(expiry.after)}; RSS ${Math.round(expiry.rss)} MB; budget_counters rows ${expiry.rows} (durable spend: kept until their windows close)`);
}
console.log(`heap after the first requests: ${JSON.stringify(big.heapAfterFirst)}`);
for (const row of rows) {
  for (const phase of [row.first, row.steady]) if (phase?.errorSamples.length > 0) console.log(`${row.label}: ${phase.errorSamples.join('; ')}`);
}
