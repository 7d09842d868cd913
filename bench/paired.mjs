// Paired benchmark: what a change costs per request, measured so that a noisy shared machine cancels out. Two
// Covenant servers run side by side, each in its own process (its own heap, so each pays for its own garbage
// collection), against the same fake upstream. This process is the load generator: it sends them alternating slices
// of requests, so drift in the machine's speed hits both sides of every pair alike, and reads each server's CPU time
// from /proc: the main thread's (the event loop, which sets throughput) around its slices, and the whole process's
// over the launch. A fresh pair is started for each of several launches: two launches of the same server differ by
// up to ±10% (memory layout, JIT choices), which rounds within one launch cannot average out.
//
// The two sides:
// - by default, plain Covenant against Covenant with budgets at three levels (the budgets target: within 10%);
// - with --baseline DIR, the build in DIR (another checkout, after `npm run build` there) against this one, both with
//   the same config (--budgets for budgets on both): before and after a change to the request path.
// - with --guards, Covenant with budgets against Covenant with budgets and every runaway guard (the guards target:
//   within 10%).
// --stream sends streaming requests instead of JSON ones.
//
// `npm run bench:paired` (= `npm run build && node bench/paired.mjs [--launches N] [--rounds N] [--requests N]
// [--connections N] [--baseline DIR] [--budgets] [--guards] [--stream] [--pin] [--profile DIR]`). Prints each launch's CPU per
// request and throughput for both sides and their ratios, then the geometric means over the launches. A first/second
// CPU ratio of 0.90 or more means the second side costs at most 10% more CPU per request, and so at most 10% of the
// throughput when the gateway is CPU-bound, as it is at 16 connections. With --profile DIR (one launch), it also lists
// the functions whose self time per request differs most between the sides.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { benchKeySecret, covenantConfig, covenantEnvironment } from './configs.mjs';
import { cpuSeconds, installCleanup, mainThreadSeconds, startServer, stopProcess } from './processes.mjs';
import { profileDifference } from './profile-summary.mjs';
import { requestBody } from './scenarios.mjs';

const usage = 'usage: node bench/paired.mjs [--launches N] [--rounds N] [--requests N] [--connections N] [--baseline DIR] [--budgets] [--guards] [--stream] [--pin] [--profile DIR]';
let values;
try {
  ({ values } = parseArgs({
    options: {
      launches: { type: 'string', default: '6' },
      rounds: { type: 'string', default: '8' },
      requests: { type: 'string', default: '1000' },
      connections: { type: 'string', default: '16' },
      baseline: { type: 'string' },
      budgets: { type: 'boolean', default: false },
      guards: { type: 'boolean', default: false },
      stream: { type: 'boolean', default: false },
      profile: { type: 'string' },
      pin: { type: 'boolean', default: false },
    },
  }));
} catch (error) {
  process.stderr.write(`paired: ${error.message}\n${usage}\n`);
  process.exit(2);
}
// --profile: one launch, so each side's profile covers the whole measurement.
const launches = values.profile ? 1 : Number(values.launches);
const rounds = Number(values.rounds);
const requests = Number(values.requests);
const connections = Number(values.connections);
for (const [name, value] of Object.entries({ launches, rounds, requests, connections })) {
  if (!Number.isInteger(value) || value <= 0) {
    process.stderr.write(`paired: --${name} must be a positive integer\n${usage}\n`);
    process.exit(2);
  }
}

const benchFolder = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(benchFolder);
const baseline = values.baseline ? path.resolve(values.baseline) : undefined;
if (baseline && !existsSync(path.join(baseline, 'dist', 'gateway', 'app.js'))) {
  process.stderr.write(`paired: ${baseline} has no build; run \`npm ci && npm run build\` there first\n`);
  process.exit(2);
}
/** The two sides: a name, the checkout whose bin/covenant runs, and the config options. */
const sideSpecs = baseline
  ? [{ name: 'baseline', root: baseline, config: { budgets: values.budgets } }, { name: 'current', root, config: { budgets: values.budgets } }]
  : values.guards
    ? [{ name: 'budgets', root, config: { budgets: true } }, { name: 'guards', root, config: { budgets: true, guards: true } }]
    : [{ name: 'plain', root, config: {} }, { name: 'budgets', root, config: { budgets: true } }];
const [first, second] = sideSpecs.map((spec) => spec.name);

installCleanup();
const work = mkdtempSync(path.join(tmpdir(), 'covenant-paired-'));
// --pin: both servers on CPU 1, the upstream and this load generator on CPU 0 (taskset), so neither server competes
// with the load for a core and both see the same conditions.
if (values.pin) execFileSync('taskset', ['-pc', '0', String(process.pid)], { stdio: 'ignore' });
const upstream = await startServer('fake upstream', [path.join(benchFolder, 'fake-upstream.mjs')], { cpus: values.pin ? '0' : undefined });
const body = requestBody({ model: 'fast', stream: values.stream });

/** One side of the pair: `bin/covenant serve` on its own config and store, with a connection pool to it. */
let sideCount = 0;
async function side(spec) {
  sideCount += 1;
  const folder = path.join(work, `${spec.name}-${sideCount}`);
  const configFile = path.join(work, `${spec.name}-${sideCount}.yaml`);
  writeFileSync(configFile, covenantConfig({ upstreamUrl: upstream.url, storePath: path.join(folder, 'covenant.db'), ...spec.config }));
  // --profile DIR: each side writes DIR/<side>.cpuprofile when it stops; the summary compares them per request.
  const flags = values.profile ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(values.profile)}`, `--cpu-prof-name=${spec.name}.cpuprofile`] : [];
  const server = await startServer(spec.name, [...flags, path.join(spec.root, 'bin', 'covenant'), 'serve', '--config', configFile, '--port', '0'], {
    environment: covenantEnvironment, cpus: values.pin ? '1' : undefined,
  });
  return { name: spec.name, server, pool: new Pool(server.url, { connections, pipelining: 1 }) };
}

/** Send `count` requests over `connections` connections: the server's main-thread CPU µs per request and its requests per second. */
async function slice(target, count) {
  let left = count;
  const cpuBefore = mainThreadSeconds(target.server.child.pid);
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: connections }, async () => {
    while (left > 0) {
      left -= 1;
      const response = await target.pool.request({
        path: '/v1/chat/completions', method: 'POST', body,
        headers: { authorization: `Bearer ${benchKeySecret}`, 'content-type': 'application/json' },
      });
      const text = await response.body.text();
      if (response.statusCode !== 200) throw new Error(`${target.name}: HTTP ${response.statusCode}: ${text.slice(0, 200)}`);
      if (values.stream && !text.endsWith('data: [DONE]\n\n')) throw new Error(`${target.name}: a stream did not end with [DONE]: ${text.slice(-200)}`);
    }
  }));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = mainThreadSeconds(target.server.child.pid) - cpuBefore;
  return { cpuPerRequest: (cpu * 1e6) / count, rate: count / seconds };
}

const column = (text, width) => String(text).padStart(width);
/** Microseconds of the monotonic clock, the time base of V8's CPU profiles on Linux: --profile reads the rounds only. */
const monotonicMicros = () => Number(process.hrtime.bigint() / 1000n);
const profileWindow = { start: 0, end: 0 };
const sum = (list) => list.reduce((total, value) => total + value, 0);
const geometricMean = (list) => Math.exp(sum(list.map(Math.log)) / list.length);

/** One launch: a fresh pair of servers, warmed up, then `rounds` pairs of slices; their totals' ratios. */
async function launch(number) {
  const sides = [];
  try {
    for (const spec of sideSpecs) sides.push(await side(spec));
    for (let warm = 0; warm < 2; warm += 1) for (const target of sides) await slice(target, requests); // JIT, connections
    const totals = sides.map(() => ({ cpu: 0, seconds: 0 }));
    // Also each process's whole CPU time (all threads) from here until after the last round, idle time between its
    // slices included: work a server defers (budget folds, WAL checkpoints, garbage collection) is counted too.
    const processBefore = sides.map((target) => cpuSeconds(target.server.child.pid));
    profileWindow.start = monotonicMicros();
    const roundRatios = [];
    for (let round = 0; round < rounds; round += 1) {
      // Alternate the order, so neither side always runs right after the other.
      const order = round % 2 === 0 ? [0, 1] : [1, 0];
      const results = [];
      for (const index of order) results[index] = await slice(sides[index], requests);
      results.forEach((result, index) => {
        totals[index].cpu += result.cpuPerRequest * requests;
        totals[index].seconds += requests / result.rate;
      });
      roundRatios.push(results[0].cpuPerRequest / results[1].cpuPerRequest);
    }
    profileWindow.end = monotonicMicros();
    await new Promise((resolve) => setTimeout(resolve, 500)); // the last deferred work (a budget fold is due every 200 ms)
    const measured = rounds * requests;
    const processCpu = sides.map((target, index) => ((cpuSeconds(target.server.child.pid) - processBefore[index]) * 1e6) / measured);
    const cpu = totals.map((total) => total.cpu / measured);
    const rate = totals.map((total) => measured / total.seconds);
    const result = {
      cpu, processCpu, rate,
      cpuRatio: cpu[0] / cpu[1], processRatio: processCpu[0] / processCpu[1], rateRatio: rate[1] / rate[0],
      lowestRound: Math.min(...roundRatios), highestRound: Math.max(...roundRatios),
    };
    process.stdout.write(`${column(number, 6)}  ${column(cpu[0].toFixed(0), 10)}  ${column(cpu[1].toFixed(0), 10)}  ${column(result.cpuRatio.toFixed(3), 8)}`
      + `  ${column(`${result.lowestRound.toFixed(2)}–${result.highestRound.toFixed(2)}`, 11)}`
      + `  ${column(processCpu[0].toFixed(0), 10)}  ${column(processCpu[1].toFixed(0), 10)}  ${column(result.processRatio.toFixed(3), 8)}`
      + `  ${column(rate[0].toFixed(0), 10)}  ${column(rate[1].toFixed(0), 10)}  ${column(result.rateRatio.toFixed(3), 8)}\n`);
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
  const what = `${values.stream ? 'streaming' : 'JSON'} requests${baseline ? `, ${values.budgets ? 'with' : 'without'} budgets, ${baseline} against this build` : ''}`;
  process.stdout.write(`paired benchmark: ${launches} launches × ${rounds} rounds of ${requests} ${what} per side at ${connections} connections\n`);
  const names = `${column(first, 10)}  ${column(second, 10)}`;
  process.stdout.write(`        main thread CPU in the slices (µs/request)      whole process CPU (µs/request)  throughput (requests/s)\n`);
  process.stdout.write(`launch  ${names}     ratio       rounds  ${names}     ratio  ${names}     ratio\n`);
  const results = [];
  for (let number = 1; number <= launches; number += 1) results.push(await launch(number));
  const mean = (key) => geometricMean(results.map((result) => result[key]));
  const cpuRatio = mean('cpuRatio');
  const processRatio = mean('processRatio');
  const rateRatio = mean('rateRatio');
  const more = (ratio) => {
    const change = (1 / ratio - 1) * 100;
    return `${second} costs ${Math.abs(change).toFixed(1)}% ${change >= 0 ? 'more' : 'less'}`;
  };
  process.stdout.write(`\nratios are ${first}/${second} for CPU and ${second}/${first} for throughput; geometric means of the launches:\n`);
  process.stdout.write(`main-thread CPU per request:   ${cpuRatio.toFixed(3)} (${more(cpuRatio)})\n`);
  process.stdout.write(`whole-process CPU per request: ${processRatio.toFixed(3)} (${more(processRatio)})\n`);
  process.stdout.write(`throughput:                    ${rateRatio.toFixed(3)}\n`);
  if (!baseline) {
    for (const [label, ratio] of [['main-thread CPU per request', cpuRatio], ['whole-process CPU per request', processRatio], ['throughput', rateRatio]]) {
      const target = values.guards ? 'every runaway guard within 10% of budgets only' : 'budgets at 3 levels within 10% of plain Covenant';
      process.stdout.write(`${ratio >= 0.9 ? 'PASS' : 'MISS'}  ${target} (paired, ${label})\n`);
    }
  }
} finally {
  await stopProcess(upstream.child);
  rmSync(work, { recursive: true, force: true });
}
if (values.profile) {
  // The measured rounds only: start-up (loading modules, a tokenizer) and warm-up are left out.
  process.stdout.write(`\n${profileDifference(path.join(values.profile, `${first}.cpuprofile`), path.join(values.profile, `${second}.cpuprofile`), rounds * requests, 25, profileWindow)}\n`);
}
