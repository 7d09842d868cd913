// Micro-benchmark of budgets: guard reserve+settle per second on SQLite (three budget levels), exact token count vs bound.
// Run after `npm run build` with `node bench/budget.mjs`, or on the sources with `npx tsx bench/budget.mjs`.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

// Under tsx the sources are measured (dist may be stale); under plain node, the build.
const underTsx = process.execArgv.join(' ').includes('tsx');
const built = new URL('../dist/budgets/guard.js', import.meta.url);
if (!underTsx && !existsSync(built)) throw new Error('Run `npm run build` first, or run this file with `npx tsx bench/budget.mjs`.');
const root = underTsx ? '../src/' : '../dist/';
const load = (path) => import(new URL(`${root}${path}`, import.meta.url).href);
const { BudgetGuard } = await load('budgets/guard.js');
const { createSqliteBudgetStore } = await load('stores/sqlite/budget-store.js');
const { openDatabase } = await load('stores/sqlite/database.js');
const { promptTokenUpperBound } = await load('core/tokens.js');
const { countPromptTokensExact, preloadEncoding } = await load('providers/openai/tokenizer.js');
const { periodWindow } = await load('core/periods.js');

const pricing = { inputMicrosPerMtok: 150_000, outputMicrosPerMtok: 600_000, cachedInputMicrosPerMtok: 75_000, cacheWriteMicrosPerMtok: 150_000 };
const settings = { min_output_tokens: 16, on_store_unavailable: 'fail_closed', local_cap_usd: 1 };
const usage = { inputTokens: 900, outputTokens: 300, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 };
// Three levels, as in the gateway benchmark: org, department (usd and tokens), key; limits far away.
const scopes = [
  { scope: 'org', budgets: [{ usd: 1e9, period: 'month' }] },
  { scope: 'department:claims', budgets: [{ usd: 1e8, period: 'day' }, { tokens: 1e15, period: 'month' }] },
  { scope: 'key:bench', budgets: [{ usd: 1e7, period: 'day' }] },
];

function rate(count, milliseconds) {
  return Math.round((count / milliseconds) * 1000);
}

async function guardThroughput(concurrency, total) {
  const folder = mkdtempSync(join(tmpdir(), 'covenant-bench-'));
  const database = openDatabase(join(folder, 'bench.db'));
  const guard = new BudgetGuard({ store: createSqliteBudgetStore(database), settings });
  let next = 0;
  const latencies = [];
  const worker = async () => {
    while (next < total) {
      const index = next;
      next += 1;
      const started = performance.now();
      const handle = await guard.reserve({ requestId: `r${index}`, scopes, pricing, prompt: { bound: 1000 }, requestedMaxTokens: 1000, modelMaxOutput: 16_384 });
      await guard.settle(handle, { usage });
      latencies.push(performance.now() - started);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = performance.now() - started;
  database.close();
  rmSync(folder, { recursive: true, force: true });
  latencies.sort((left, right) => left - right);
  return { perSecond: rate(total, elapsed), p50: latencies[Math.floor(total * 0.5)], p99: latencies[Math.floor(total * 0.99)] };
}

/** The store alone: tryReserve + settle of four counters, sequential. */
async function storeThroughput(total) {
  const folder = mkdtempSync(join(tmpdir(), 'covenant-bench-'));
  const database = openDatabase(join(folder, 'bench.db'));
  const store = createSqliteBudgetStore(database);
  const keys = ['org|usd:month|2024-05', 'department:claims|usd:day|2024-05-01', 'department:claims|tokens:month|2024-05', 'key:bench|usd:day|2024-05-01'];
  const started = performance.now();
  for (let index = 0; index < total; index += 1) {
    const id = `s${index}`;
    await store.tryReserve({ id, createdAt: 0, items: keys.map((counterKey) => ({ counterKey, amount: 1000, limit: 1e15 })) });
    await store.settle(id, keys.map(() => 500));
  }
  const elapsed = performance.now() - started;
  database.close();
  rmSync(folder, { recursive: true, force: true });
  return rate(total, elapsed);
}

function timePerCall(label, calls, work) {
  for (let index = 0; index < Math.min(200, calls); index += 1) work();
  const started = performance.now();
  for (let index = 0; index < calls; index += 1) work();
  const microseconds = ((performance.now() - started) * 1000) / calls;
  return { label, microseconds };
}

const cookbook = [
  { role: 'system', content: 'You are a helpful, pattern-following assistant that translates corporate jargon into plain English.' },
  { role: 'system', name: 'example_user', content: 'New synergies will help drive top-line growth.' },
  { role: 'system', name: 'example_assistant', content: 'Things working well together will increase revenue.' },
  { role: 'user', content: "This late pivot means we don't have time to boil the ocean for the client deliverable." },
];
const long = [{ role: 'user', content: 'Summarise the claim history below and flag anything unusual. '.repeat(150) }];

const rows = [];
rows.push(['store tryReserve+settle, SQLite, 4 counters, sequential', `${await storeThroughput(10000)}/s`, '']);
for (const [concurrency, total] of [[1, 5000], [100, 20000]]) {
  const result = await guardThroughput(concurrency, total);
  rows.push([`guard reserve+settle, SQLite, 3 levels (4 budgets), concurrency ${concurrency}`, `${result.perSecond}/s`, `p50 ${result.p50.toFixed(3)} ms, p99 ${result.p99.toFixed(3)} ms`]);
}
for (const encoding of ['o200k_base', 'cl100k_base']) {
  const started = performance.now();
  preloadEncoding(encoding);
  rows.push([`load ${encoding} ranks (once per process)`, `${(performance.now() - started).toFixed(0)} ms`, '']);
}
for (const [name, messages] of [['cookbook, 4 messages', cookbook], ['one 9 KB message', long]]) {
  const request = { model: 'gpt-4o-mini', messages };
  const exact = timePerCall('exact', 2000, () => countPromptTokensExact(request, 'gpt-4o-mini'));
  const bound = timePerCall('bound', 20000, () => promptTokenUpperBound(request));
  rows.push([`prompt count, ${name}: exact (o200k)`, `${exact.microseconds.toFixed(2)} µs`, `${countPromptTokensExact(request, 'gpt-4o-mini')} tokens`]);
  rows.push([`prompt count, ${name}: bound (bytes)`, `${bound.microseconds.toFixed(2)} µs`, `${promptTokenUpperBound(request)} tokens, ${(exact.microseconds / bound.microseconds).toFixed(0)}x cheaper`]);
}
const day = timePerCall('window', 200000, () => periodWindow('day', new Date(), 'America/New_York'));
rows.push(['periodWindow(day, New York), cached', `${day.microseconds.toFixed(3)} µs`, '']);

const widths = [0, 1, 2].map((column) => Math.max(...rows.map((row) => row[column].length)));
console.log(`budget micro-benchmark (${root === '../dist/' ? 'dist' : 'src via tsx'}, node ${process.version})`);
for (const row of rows) console.log(`${row[0].padEnd(widths[0])}  ${row[1].padStart(widths[1])}  ${row[2]}`);
