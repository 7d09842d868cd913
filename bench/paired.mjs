// Paired benchmark: what a feature costs per request, measured so that a noisy shared machine cancels out. Plain
// Covenant and Covenant with budgets at three levels run in this one process against the same fake upstream; the
// same load generator sends them alternating slices of requests (and direct to the upstream, to subtract the
// generator's own share), so drift in the machine's speed hits both sides of every pair alike.
//
// `npm run bench:paired` (= `npm run build && node bench/paired.mjs [--rounds N] [--requests N] [--connections N]`).
// Prints each round's CPU per request of each side and their ratio, and the median ratio: a plain/budgets ratio of
// 0.90 or more means budgets cost at most 10% of the gateway's CPU per request, and so of its throughput when it is
// CPU-bound, as it is at 16 connections (issue 3 item 10). bench/run.mjs measures the throughput itself, in separate
// processes a minute apart; on a shared 2-core VM its per-round ratios swing by ±10 points.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { benchKeySecret, covenantConfig, covenantEnvironment } from './configs.mjs';
import { installCleanup, startServer, stopProcess } from './processes.mjs';
import { requestBody } from './scenarios.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '12' },
    requests: { type: 'string', default: '2000' },
    connections: { type: 'string', default: '16' },
  },
});
const rounds = Number(values.rounds);
const requests = Number(values.requests);
const connections = Number(values.connections);

const built = new URL('../dist/gateway/app.js', import.meta.url);
if (!existsSync(built)) throw new Error('Run `npm run build` first (or `npm run bench:paired`).');
const { startApp } = await import(built.href);

installCleanup();
const benchFolder = path.dirname(new URL(import.meta.url).pathname);
const upstream = await startServer('fake upstream', [path.join(benchFolder, 'fake-upstream.mjs')]);
const folders = [];
const apps = [];

/** One side of the pair: a Covenant app in this process, or the upstream itself (the generator's own cost). */
async function side(name, config) {
  if (!config) return { name, url: upstream.url, body: requestBody({ model: 'gpt-4o-mini-2024-07-18', stream: false }) };
  const folder = mkdtempSync(path.join(tmpdir(), `covenant-paired-${name}-`));
  folders.push(folder);
  const app = await startApp({
    configText: covenantConfig({ upstreamUrl: upstream.url, storePath: path.join(folder, 'covenant.db'), ...config }),
    environment: covenantEnvironment, host: '127.0.0.1', port: 0,
  });
  apps.push(app);
  return { name, url: app.url, body: requestBody({ model: 'fast', stream: false }) };
}

/** Send `count` requests over `connections` connections; the process's CPU microseconds per request. */
async function slice(target, count) {
  const pool = new Pool(target.url, { connections, pipelining: 1 });
  let left = count;
  const before = process.cpuUsage();
  await Promise.all(Array.from({ length: connections }, async () => {
    while (left > 0) {
      left -= 1;
      const response = await pool.request({
        path: '/v1/chat/completions', method: 'POST', body: target.body,
        headers: { authorization: `Bearer ${benchKeySecret}`, 'content-type': 'application/json' },
      });
      const text = await response.body.text();
      if (response.statusCode !== 200) throw new Error(`${target.name}: HTTP ${response.statusCode}: ${text.slice(0, 200)}`);
    }
  }));
  const used = process.cpuUsage(before);
  await pool.close();
  return (used.user + used.system) / count;
}

const median = (list) => [...list].sort((left, right) => left - right)[Math.floor(list.length / 2)];

try {
  const sides = [await side('direct'), await side('plain', {}), await side('budgets', { budgets: true })];
  for (const target of sides) await slice(target, requests); // warm-up: JIT, connections, tokenizer tables
  const perRequest = { direct: [], plain: [], budgets: [] };
  process.stdout.write(`paired benchmark: ${rounds} rounds of ${requests} requests per side at ${connections} connections\n`);
  process.stdout.write('round  plain µs/req  budgets µs/req  plain/budgets\n');
  for (let round = 0; round < rounds; round += 1) {
    // Alternate the order, so neither side always runs right after the other.
    for (const target of round % 2 === 0 ? sides : [...sides].reverse()) perRequest[target.name].push(await slice(target, requests));
    // The Covenant apps' own CPU: what the same generator costs against the upstream alone is taken off.
    const plain = perRequest.plain[round] - perRequest.direct[round];
    const budgets = perRequest.budgets[round] - perRequest.direct[round];
    process.stdout.write(`${String(round + 1).padStart(5)}  ${plain.toFixed(0).padStart(12)}  ${budgets.toFixed(0).padStart(14)}  ${(plain / budgets).toFixed(3).padStart(13)}\n`);
  }
  const ratios = perRequest.plain.map((plain, round) => (plain - perRequest.direct[round]) / (perRequest.budgets[round] - perRequest.direct[round]));
  const ratio = median(ratios);
  process.stdout.write(`\nmedian plain/budgets CPU per request: ${ratio.toFixed(3)} (budgets cost ${((1 / ratio - 1) * 100).toFixed(1)}% more CPU per request)\n`);
  process.stdout.write(`${ratio >= 0.9 ? 'PASS' : 'MISS'}  budgets at 3 levels within 10% of plain Covenant (paired, CPU per request)\n`);
} finally {
  for (const app of apps) await app.close();
  await stopProcess(upstream.child);
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
}
