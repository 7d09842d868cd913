// Scale benchmark: 100,000 keys and 1,000,000 end users under user_budgets against a 10-key run, with RSS and start-up time.
// Usage: node bench/scale.mjs [--seconds N] [--keys N] [--users N] [--api-keys N]. The first keys are created through
// POST /admin/keys, as an operator would (its rate is reported); the rest are written straight into the store through
// Covenant's own key store while the gateway is stopped, since a hundred thousand API calls would take most of the run.
// The gateway is then restarted, so the start-up time with every key in the store is measured too.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { upstreamKeySecret } from './configs.mjs';
import { installCleanup, startServer, stopProcess } from './processes.mjs';
import { requestBody } from './scenarios.mjs';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    keys: { type: 'string', default: '100000' },
    users: { type: 'string', default: '1000000' },
    connections: { type: 'string', default: '16' },
    'api-keys': { type: 'string', default: '200' },
  },
});
const { openDatabase } = await import('../dist/stores/sqlite/database.js');
const { SqliteKeyStore } = await import('../dist/stores/sqlite/records.js');
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
      budgets: [ { usd: 100000, period: day } ]
      user_budgets: [ { usd: 5, period: day }, { tokens: 10000000, period: month } ]`).join('\n');
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

async function startGateway(name, file) {
  const started = performance.now();
  const server = await startServer(name, [path.join(root, 'bin', 'covenant'), 'serve', '--config', file, '--port', '0'], { environment, timeoutMs: 120_000 });
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

/** Write keys `from` … `count - 1` into the stopped gateway's store, as POST /admin/keys would (hashed secret, source api). */
async function provisionKeys(storePath, from, count, secrets) {
  const database = openDatabase(storePath);
  const store = new SqliteKeyStore(database);
  const createdAt = new Date().toISOString();
  const pending = [];
  database.transaction(() => {
    for (let index = from; index < count; index += 1) {
      const secret = `sk-cov-${randomBytes(24).toString('base64url')}`;
      secrets[index] = secret;
      pending.push(store.insert({
        id: `key_${randomUUID().replaceAll('-', '').slice(0, 20)}`, department: `d${index % departments}`, name: `k${index}`, models: null,
        budgets: [{ usd: 50, period: 'day' }], source: 'api', secretHash: createHash('sha256').update(secret).digest('hex'), createdAt,
      }));
    }
  })();
  await Promise.all(pending);
  database.close();
}

/**
 * Closed loop over `connections`, each request from a random key and the next end user of a walk that visits every
 * one of `users` before repeating one (a stride coprime with the count), so distinct users grow with the requests.
 */
async function load(url, secrets, users, durationSeconds, warmupSeconds) {
  const pool = new Pool(url, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
  const body = requestBody({ model: 'fast', stream: false });
  const stride = 7_919;
  let userStep = 0;
  let measuring = false;
  let stopping = false;
  const latencies = [];
  let errors = 0;
  const errorSamples = [];
  const seen = new Set();
  const worker = async () => {
    while (!stopping) {
      const secret = secrets[Math.floor(Math.random() * secrets.length)];
      const user = `u${(userStep++ * stride) % users}`;
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
        seen.add(user);
      } catch (error) {
        if (counted && measuring) {
          errors += 1;
          if (errorSamples.length < 3) errorSamples.push(error.message);
        }
      }
    }
  };
  const workers = Array.from({ length: connections }, worker);
  await new Promise((resolve) => setTimeout(resolve, warmupSeconds * 1000));
  measuring = true;
  const windowStart = performance.now();
  await new Promise((resolve) => setTimeout(resolve, durationSeconds * 1000));
  measuring = false;
  const windowMs = performance.now() - windowStart;
  stopping = true;
  await Promise.all(workers);
  await pool.close();
  latencies.sort((a, b) => a - b);
  const percentile = (fraction) => latencies[Math.min(latencies.length - 1, Math.ceil(fraction * latencies.length) - 1)];
  return {
    requestsPerSecond: latencies.length / (windowMs / 1000), p50: percentile(0.5), p99: percentile(0.99),
    errors, errorSamples, distinctUsers: seen.size,
  };
}

const rows = [];
const upstream = await startServer('upstream', [path.join(root, 'bench', 'fake-upstream.mjs'), '--port', '0']);
try {
  for (const side of [{ label: '10 keys, 10 users', keys: 10, users: 10 }, { label: `${values.keys} keys, ${values.users} users`, keys: Number(values.keys), users: Number(values.users) }]) {
    const directory = mkdtempSync(path.join(work, 'side-'));
    const file = path.join(directory, 'covenant.yaml');
    writeFileSync(file, config(upstream.url, path.join(directory, 'covenant.db')));
    const first = await startGateway('gateway', file);
    const throughApi = Math.min(side.keys, Number(values['api-keys']));
    const creating = performance.now();
    const secrets = await createKeys(first.url, throughApi);
    const apiKeysPerSecond = throughApi / ((performance.now() - creating) / 1000);
    await stopProcess(first.child);
    const provisioning = performance.now();
    await provisionKeys(path.join(directory, 'covenant.db'), throughApi, side.keys, secrets);
    const provisionSeconds = (performance.now() - provisioning) / 1000;
    // Start-up with every key in the store: what a restart or a new replica costs.
    const gateway = await startGateway('gateway', file);
    const rssAtStart = rssMegabytes(gateway.child.pid);
    const result = await load(gateway.url, secrets, side.users, seconds, 3);
    rows.push({ ...side, ...result, apiKeysPerSecond, provisionSeconds, startMs: gateway.startMs, rssAtStart, rssAfter: rssMegabytes(gateway.child.pid) });
    await stopProcess(gateway.child);
  }
} finally {
  await stopProcess(upstream.child);
  rmSync(work, { recursive: true, force: true });
}

console.log(`\n| run (${seconds} s, ${connections} connections, budgets org/department/key/user, burn-rate alerts) | req/s | p50 ms | p99 ms | errors | distinct users | POST /admin/keys | keys written to the store in | start-up | RSS at start | RSS after |`);
console.log('|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
for (const row of rows) {
  console.log(`| ${row.label} | ${Math.round(row.requestsPerSecond)} | ${row.p50.toFixed(2)} | ${row.p99.toFixed(2)} | ${row.errors} | ${row.distinctUsers} | ${Math.round(row.apiKeysPerSecond)} keys/s | ${row.provisionSeconds.toFixed(1)} s | ${Math.round(row.startMs)} ms | ${Math.round(row.rssAtStart)} MB | ${Math.round(row.rssAfter)} MB |`);
}
const [small, large] = rows;
if (small && large) {
  console.log(`\nthroughput ratio ${(large.requestsPerSecond / small.requestsPerSecond).toFixed(3)}, p99 ratio ${(large.p99 / small.p99).toFixed(3)}`);
}
for (const row of rows) if (row.errorSamples.length > 0) console.log(`${row.label}: ${row.errorSamples.join('; ')}`);
