// Paired benchmark: what budgets cost per request, measured so that a noisy shared machine cancels out. Plain
// Covenant and Covenant with budgets at three levels run side by side, each in its own process (its own heap, so
// each pays for its own garbage collection) against the same fake upstream. This process is the load generator: it
// sends them alternating slices of requests, so drift in the machine's speed hits both sides of every pair alike,
// and reads each server's own CPU time from /proc around its slices.
//
// `npm run bench:paired` (= `npm run build && node bench/paired.mjs [--rounds N] [--requests N] [--connections N]`).
// Prints, per round, each side's CPU per request, their ratio and the throughput ratio of the two slices, then the
// medians. A plain/budgets CPU ratio of 0.90 or more means budgets cost at most 10% of the gateway's CPU per request,
// and so of its throughput when it is CPU-bound, as it is at 16 connections (issue 3 item 10). bench/run.mjs measures
// throughput in separate runs a minute apart; on a shared 2-core VM its per-round ratios swing by ±10 points.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { benchKeySecret, covenantConfig, covenantEnvironment } from './configs.mjs';
import { cpuSeconds, installCleanup, startServer, stopProcess } from './processes.mjs';
import { requestBody } from './scenarios.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '12' },
    requests: { type: 'string', default: '3000' },
    connections: { type: 'string', default: '16' },
  },
});
const rounds = Number(values.rounds);
const requests = Number(values.requests);
const connections = Number(values.connections);
for (const [name, value] of Object.entries({ rounds, requests, connections })) {
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} must be a positive integer`);
}

installCleanup();
const benchFolder = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(benchFolder);
const work = mkdtempSync(path.join(tmpdir(), 'covenant-paired-'));
const upstream = await startServer('fake upstream', [path.join(benchFolder, 'fake-upstream.mjs')]);
const servers = [];

/** One side of the pair: `bin/covenant serve` on its own config and store, with a connection pool to it. */
async function side(name, config) {
  const folder = path.join(work, name);
  const configFile = path.join(work, `${name}.yaml`);
  writeFileSync(configFile, covenantConfig({ upstreamUrl: upstream.url, storePath: path.join(folder, 'covenant.db'), ...config }));
  const server = await startServer(name, [path.join(root, 'bin', 'covenant'), 'serve', '--config', configFile, '--port', '0'], { environment: covenantEnvironment });
  servers.push(server);
  return { name, server, pool: new Pool(server.url, { connections, pipelining: 1 }), body: requestBody({ model: 'fast', stream: false }) };
}

/** Send `count` requests over `connections` connections: the server's CPU µs per request and its requests per second. */
async function slice(target, count) {
  let left = count;
  const cpuBefore = cpuSeconds(target.server.child.pid);
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: connections }, async () => {
    while (left > 0) {
      left -= 1;
      const response = await target.pool.request({
        path: '/v1/chat/completions', method: 'POST', body: target.body,
        headers: { authorization: `Bearer ${benchKeySecret}`, 'content-type': 'application/json' },
      });
      const text = await response.body.text();
      if (response.statusCode !== 200) throw new Error(`${target.name}: HTTP ${response.statusCode}: ${text.slice(0, 200)}`);
    }
  }));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = cpuSeconds(target.server.child.pid) - cpuBefore;
  return { cpuPerRequest: (cpu * 1e6) / count, rate: count / seconds };
}

const median = (list) => [...list].sort((left, right) => left - right)[Math.floor(list.length / 2)];
const column = (text, width) => String(text).padStart(width);

try {
  if (cpuSeconds(process.pid) === undefined) throw new Error('the paired benchmark reads CPU time from /proc, which this system lacks');
  const sides = [await side('plain', {}), await side('budgets', { budgets: true })];
  for (const target of sides) await slice(target, requests); // warm-up: JIT, connections, tokenizer tables
  const cpuRatios = [];
  const rateRatios = [];
  process.stdout.write(`paired benchmark: ${rounds} rounds of ${requests} requests per side at ${connections} connections\n`);
  process.stdout.write('round  plain µs/req  budgets µs/req  CPU plain/budgets  plain req/s  budgets req/s  req/s budgets/plain\n');
  for (let round = 0; round < rounds; round += 1) {
    // Alternate the order, so neither side always runs right after the other.
    const results = {};
    for (const target of round % 2 === 0 ? sides : [...sides].reverse()) results[target.name] = await slice(target, requests);
    const { plain, budgets } = results;
    cpuRatios.push(plain.cpuPerRequest / budgets.cpuPerRequest);
    rateRatios.push(budgets.rate / plain.rate);
    process.stdout.write(`${column(round + 1, 5)}  ${column(plain.cpuPerRequest.toFixed(0), 12)}  ${column(budgets.cpuPerRequest.toFixed(0), 14)}`
      + `  ${column(cpuRatios.at(-1).toFixed(3), 17)}  ${column(plain.rate.toFixed(0), 11)}  ${column(budgets.rate.toFixed(0), 13)}  ${column(rateRatios.at(-1).toFixed(3), 19)}\n`);
  }
  const cpuRatio = median(cpuRatios);
  const rateRatio = median(rateRatios);
  process.stdout.write(`\nmedian plain/budgets CPU per request: ${cpuRatio.toFixed(3)} (budgets cost ${((1 / cpuRatio - 1) * 100).toFixed(1)}% more CPU per request)\n`);
  process.stdout.write(`median budgets/plain throughput: ${rateRatio.toFixed(3)}\n`);
  process.stdout.write(`${cpuRatio >= 0.9 ? 'PASS' : 'MISS'}  budgets at 3 levels within 10% of plain Covenant (paired, CPU per request)\n`);
  process.stdout.write(`${rateRatio >= 0.9 ? 'PASS' : 'MISS'}  budgets at 3 levels within 10% of plain Covenant (paired, throughput)\n`);
} finally {
  for (const server of servers) await stopProcess(server.child);
  await stopProcess(upstream.child);
  rmSync(work, { recursive: true, force: true });
}
