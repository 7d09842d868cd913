// Paired benchmark: what budgets cost per request, measured so that a noisy shared machine cancels out. Plain
// Covenant and Covenant with budgets at three levels run side by side, each in its own process (its own heap, so
// each pays for its own garbage collection) against the same fake upstream. This process is the load generator: it
// sends them alternating slices of requests, so drift in the machine's speed hits both sides of every pair alike,
// and reads each server's main-thread CPU time (the event loop, which sets throughput) from /proc around its slices.
// A fresh pair of servers is started for each of several launches: two launches of the same server differ by up to
// ±10% (memory layout, JIT choices), which rounds within one launch cannot average out.
//
// `npm run bench:paired` (= `npm run build && node bench/paired.mjs [--launches N] [--rounds N] [--requests N]
// [--connections N] [--pin] [--profile DIR]`). Prints each launch's CPU per request and throughput for both sides and
// their ratios, then the geometric means over the launches. A plain/budgets CPU ratio of 0.90 or more means budgets
// cost at most 10% of the gateway's CPU per request, and so of its throughput when it is CPU-bound, as it is at 16
// connections (issue 3 item 10). With --profile DIR (one launch), it also lists the functions whose self time per
// request differs most between the sides.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { benchKeySecret, covenantConfig, covenantEnvironment } from './configs.mjs';
import { cpuSeconds, installCleanup, mainThreadSeconds, startServer, stopProcess } from './processes.mjs';
import { profileDifference } from './profile-summary.mjs';
import { requestBody } from './scenarios.mjs';

const { values } = parseArgs({
  options: {
    launches: { type: 'string', default: '6' },
    rounds: { type: 'string', default: '8' },
    requests: { type: 'string', default: '1000' },
    connections: { type: 'string', default: '16' },
    profile: { type: 'string' },
    pin: { type: 'boolean', default: false },
  },
});
// --profile: one launch, so each side's profile covers the whole measurement.
const launches = values.profile ? 1 : Number(values.launches);
const rounds = Number(values.rounds);
const requests = Number(values.requests);
const connections = Number(values.connections);
for (const [name, value] of Object.entries({ launches, rounds, requests, connections })) {
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} must be a positive integer`);
}

installCleanup();
const benchFolder = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(benchFolder);
const work = mkdtempSync(path.join(tmpdir(), 'covenant-paired-'));
// --pin: both servers on CPU 1, the upstream and this load generator on CPU 0 (taskset), so neither server competes
// with the load for a core and both see the same conditions.
if (values.pin) execFileSync('taskset', ['-pc', '0', String(process.pid)], { stdio: 'ignore' });
const upstream = await startServer('fake upstream', [path.join(benchFolder, 'fake-upstream.mjs')], { cpus: values.pin ? '0' : undefined });
const servers = [];

/** One side of the pair: `bin/covenant serve` on its own config and store, with a connection pool to it. */
let sideCount = 0;
async function side(name, config) {
  sideCount += 1;
  const folder = path.join(work, `${name}-${sideCount}`);
  const configFile = path.join(work, `${name}-${sideCount}.yaml`);
  writeFileSync(configFile, covenantConfig({ upstreamUrl: upstream.url, storePath: path.join(folder, 'covenant.db'), ...config }));
  // --profile DIR: each side writes DIR/<side>.cpuprofile when it stops; the summary compares them per request.
  const flags = values.profile ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(values.profile)}`, `--cpu-prof-name=${name}.cpuprofile`] : [];
  const server = await startServer(name, [...flags, path.join(root, 'bin', 'covenant'), 'serve', '--config', configFile, '--port', '0'], {
    environment: covenantEnvironment, cpus: values.pin ? '1' : undefined,
  });
  servers.push(server);
  return { name, server, pool: new Pool(server.url, { connections, pipelining: 1 }), body: requestBody({ model: 'fast', stream: false }) };
}

/** Send `count` requests over `connections` connections: the server's CPU µs per request and its requests per second. */
async function slice(target, count) {
  let left = count;
  const cpuBefore = mainThreadSeconds(target.server.child.pid);
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
  const cpu = mainThreadSeconds(target.server.child.pid) - cpuBefore;
  return { cpuPerRequest: (cpu * 1e6) / count, rate: count / seconds };
}

const column = (text, width) => String(text).padStart(width);
const sum = (list) => list.reduce((total, value) => total + value, 0);
const geometricMean = (list) => Math.exp(sum(list.map(Math.log)) / list.length);

/** One launch: fresh plain and budgets servers, warmed up, then `rounds` pairs of slices; their totals' ratios. */
async function launch(number) {
  const sides = [await side('plain', {}), await side('budgets', { budgets: true })];
  try {
    for (let warm = 0; warm < 2; warm += 1) for (const target of sides) await slice(target, requests); // JIT, connections
    const totals = { plain: { cpu: 0, seconds: 0 }, budgets: { cpu: 0, seconds: 0 } };
    // Also each process's whole CPU time (all threads) from here until after the last round, idle time between its
    // slices included: work a server defers (budget folds, WAL checkpoints, garbage collection) is counted too.
    const processBefore = sides.map((target) => cpuSeconds(target.server.child.pid));
    const roundRatios = [];
    for (let round = 0; round < rounds; round += 1) {
      // Alternate the order, so neither side always runs right after the other.
      const results = {};
      for (const target of round % 2 === 0 ? sides : [...sides].reverse()) results[target.name] = await slice(target, requests);
      for (const name of ['plain', 'budgets']) {
        totals[name].cpu += results[name].cpuPerRequest * requests;
        totals[name].seconds += requests / results[name].rate;
      }
      roundRatios.push(results.plain.cpuPerRequest / results.budgets.cpuPerRequest);
    }
    await new Promise((resolve) => setTimeout(resolve, 500)); // the last deferred work (a fold is due every 200 ms)
    const [plainProcess, budgetsProcess] = sides.map((target, index) => ((cpuSeconds(target.server.child.pid) - processBefore[index]) * 1e6) / (rounds * requests));
    const result = {
      plainProcess, budgetsProcess, processRatio: plainProcess / budgetsProcess,
      plainCpu: totals.plain.cpu / (rounds * requests), budgetsCpu: totals.budgets.cpu / (rounds * requests),
      plainRate: (rounds * requests) / totals.plain.seconds, budgetsRate: (rounds * requests) / totals.budgets.seconds,
      lowestRound: Math.min(...roundRatios), highestRound: Math.max(...roundRatios),
    };
    result.cpuRatio = result.plainCpu / result.budgetsCpu;
    result.rateRatio = result.budgetsRate / result.plainRate;
    process.stdout.write(`${column(number, 6)}  ${column(result.plainCpu.toFixed(0), 12)}  ${column(result.budgetsCpu.toFixed(0), 14)}  ${column(result.cpuRatio.toFixed(3), 17)}`
      + `  ${column(`${result.lowestRound.toFixed(2)}–${result.highestRound.toFixed(2)}`, 11)}`
      + `  ${column(result.plainProcess.toFixed(0), 9)}  ${column(result.budgetsProcess.toFixed(0), 9)}  ${column(result.processRatio.toFixed(3), 13)}`
      + `  ${column(result.plainRate.toFixed(0), 11)}  ${column(result.budgetsRate.toFixed(0), 13)}  ${column(result.rateRatio.toFixed(3), 19)}\n`);
    return result;
  } finally {
    for (const target of sides) {
      await target.pool.close();
      await stopProcess(target.server.child);
    }
  }
}

try {
  if (mainThreadSeconds(process.pid) === undefined) throw new Error('the paired benchmark reads CPU time from /proc, which this system lacks');
  process.stdout.write(`paired benchmark: ${launches} launches × ${rounds} rounds of ${requests} requests per side at ${connections} connections\n`);
  process.stdout.write('        main thread CPU in the slices, µs/request                      whole process CPU, µs/request          throughput (req/s)\n');
  process.stdout.write('launch         plain         budgets      plain/budgets       rounds      plain    budgets  plain/budgets        plain        budgets  budgets/plain\n');
  const results = [];
  for (let number = 1; number <= launches; number += 1) results.push(await launch(number));
  const cpuRatio = geometricMean(results.map((result) => result.cpuRatio));
  const rateRatio = geometricMean(results.map((result) => result.rateRatio));
  const processRatio = geometricMean(results.map((result) => result.processRatio));
  process.stdout.write(`\nplain/budgets CPU per request, geometric mean of the launches: ${cpuRatio.toFixed(3)} (budgets cost ${((1 / cpuRatio - 1) * 100).toFixed(1)}% more)\n`);
  process.stdout.write(`plain/budgets whole-process CPU per request, geometric mean of the launches: ${processRatio.toFixed(3)} (budgets cost ${((1 / processRatio - 1) * 100).toFixed(1)}% more)\n`);
  process.stdout.write(`budgets/plain throughput, geometric mean of the launches: ${rateRatio.toFixed(3)}\n`);
  process.stdout.write(`${cpuRatio >= 0.9 ? 'PASS' : 'MISS'}  budgets at 3 levels within 10% of plain Covenant (paired, main-thread CPU per request)\n`);
  process.stdout.write(`${processRatio >= 0.9 ? 'PASS' : 'MISS'}  budgets at 3 levels within 10% of plain Covenant (paired, whole-process CPU per request)\n`);
  process.stdout.write(`${rateRatio >= 0.9 ? 'PASS' : 'MISS'}  budgets at 3 levels within 10% of plain Covenant (paired, throughput)\n`);
} finally {
  for (const server of servers) await stopProcess(server.child);
  await stopProcess(upstream.child);
  rmSync(work, { recursive: true, force: true });
}
if (values.profile) {
  const total = (rounds + 2) * requests;
  process.stdout.write(`\n${profileDifference(path.join(values.profile, 'plain.cpuprofile'), path.join(values.profile, 'budgets.cpuprofile'), total)}\n`);
}
