// `npm run bench`: the gateway load benchmark — direct vs a minimal Node proxy vs Covenant, each in its own process.
//
// Usage: node bench/run.mjs [--quick] [--duration S] [--warmup S] [--connections N] [--paced-rate R] [--rounds N] [--paired-launches N]
//                           [--only a,b] [--wait-quiet S] [--pin] [--profile DIR] [--json FILE]
// Method and results: bench/RESULTS.md.
import { execFile, fork } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { request } from 'undici';
import { benchKeySecret, covenantConfig, covenantEnvironment, upstreamKeySecret } from './configs.mjs';
import { cpuSeconds, installCleanup, killAll, machineBusySeconds, onExit, startServer, stopProcess, track, writeSyscalls } from './processes.mjs';
import { checkTargets, formatMachine, formatTable, formatTargets, machineFacts, tableRows } from './report.mjs';
import { requestBody, scenarios } from './scenarios.mjs';
import { summarizeProfile } from './profile-summary.mjs';

const benchFolder = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(benchFolder);

const usage = `usage: node bench/run.mjs [options]
  --quick            3 s runs after a 1 s warm-up (default: 10 s after 2 s)
  --duration S       seconds measured per scenario
  --warmup S         seconds of warm-up per scenario (not measured)
  --connections N    concurrent connections (default 16)
  --paced-rate R     after each closed-loop run, measure latency with requests paced at R per second over the same
                     connections (default 1000; 0 skips it)
  --rounds N         run every scenario N times, interleaved; the table shows each one's least disturbed run and
                     the targets use the median of the per-round throughput ratios
  --paired-launches N  when (c) and (d) both run, decide the budgets target with bench/paired.mjs over N launches
                     (default 3; 0 keeps the separate-run median as the verdict)
  --only A,B         only these scenarios (${scenarios.map((scenario) => scenario.name).join(', ')})
  --wait-quiet S     before each scenario, wait up to S seconds for other programs to use < 10% of the CPU
  --pin              pin processes to cores with taskset: load generator and upstream on CPU 0, server on CPU 1
  --profile DIR      run the proxies with --cpu-prof into DIR and print their hottest functions in the window
  --loop-delay       time each server's event loop during the paced runs (bench/loop-delay.mjs): its p99 and
                     longest delay and its stalls over 5 ms, in the table; tells the machine's stalls from the code's
  --node-flags=F     extra Node/V8 flags for the servers under test, space-separated (--node-flags=--no-concurrent-marking)
  --json FILE        also write the results as JSON`;

function options() {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        quick: { type: 'boolean', default: false },
        duration: { type: 'string' },
        warmup: { type: 'string' },
        connections: { type: 'string', default: '16' },
        'paced-rate': { type: 'string', default: '1000' },
        'paired-launches': { type: 'string', default: '3' },
        only: { type: 'string' },
        rounds: { type: 'string', default: '1' },
        pin: { type: 'boolean', default: false },
        'wait-quiet': { type: 'string' },
        profile: { type: 'string' },
        'loop-delay': { type: 'boolean', default: false },
        'node-flags': { type: 'string' },
        json: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
    }).values;
  } catch (error) {
    process.stderr.write(`bench: ${error.message}\n${usage}\n`);
    process.exit(2);
  }
  if (parsed.help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  const number = (text, fallback, what) => {
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!(value > 0)) {
      process.stderr.write(`bench: ${what} must be a positive number, not "${text}"\n`);
      process.exit(2);
    }
    return value;
  };
  const only = parsed.only?.split(',').map((name) => name.trim()).filter(Boolean);
  for (const name of only ?? []) {
    if (!scenarios.some((scenario) => scenario.name === name)) {
      process.stderr.write(`bench: unknown scenario "${name}"\n${usage}\n`);
      process.exit(2);
    }
  }
  return {
    durationSeconds: number(parsed.duration, parsed.quick ? 3 : 10, '--duration'),
    warmupSeconds: number(parsed.warmup, parsed.quick ? 1 : 2, '--warmup'),
    connections: Math.round(number(parsed.connections, 16, '--connections')),
    pacedRate: parsed['paced-rate'] === '0' ? 0 : Math.round(number(parsed['paced-rate'], 1000, '--paced-rate')),
    rounds: Math.round(number(parsed.rounds, 1, '--rounds')),
    pairedLaunches: parsed['paired-launches'] === '0' ? 0 : Math.round(number(parsed['paired-launches'], 3, '--paired-launches')),
    only,
    pin: parsed.pin,
    waitQuietSeconds: parsed['wait-quiet'] === undefined ? 0 : number(parsed['wait-quiet'], 0, '--wait-quiet'),
    profile: parsed.profile ? path.resolve(parsed.profile) : undefined,
    loopDelay: parsed['loop-delay'],
    nodeFlags: parsed['node-flags']?.split(/\s+/).filter(Boolean) ?? [],
    profileLines: 15,
    json: parsed.json,
  };
}

/** Run bench/paired.mjs (plain against budgets) and read its geometric-mean ratios. */
async function pairedBudgets(launches) {
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(benchFolder, 'paired.mjs'), '--launches', String(launches)], { maxBuffer: 1 << 20 });
  const ratio = (label) => {
    const match = new RegExp(`^${label}:\\s+([0-9.]+)`, 'm').exec(stdout);
    if (!match) throw new Error(`bench/paired.mjs printed no "${label}" line:\n${stdout}`);
    return Number(match[1]);
  };
  return { throughput: ratio('throughput'), cpu: ratio('main-thread CPU per request') };
}

/** One request through the server before loading it: a misconfigured run must fail loudly, not measure 401s. */
async function smokeTest(target, scenario) {
  const response = await request(`${target.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...target.headers },
    body: requestBody({ model: target.model, stream: scenario.stream }),
  });
  const text = await response.body.text();
  if (response.statusCode !== 200) throw new Error(`${scenario.name}: the smoke-test request got HTTP ${response.statusCode}: ${text.slice(0, 500)}`);
  if (scenario.target === 'covenant' && response.headers['x-covenant-request-id'] === undefined) {
    throw new Error(`${scenario.name}: the answer has no x-covenant-request-id header; is this Covenant?`);
  }
  if (scenario.stream ? !text.endsWith('data: [DONE]\n\n') : !Array.isArray(JSON.parse(text).choices)) {
    throw new Error(`${scenario.name}: unexpected answer: ${text.slice(0, 500)}`);
  }
}

const loopDelayPreload = path.join(benchFolder, 'loop-delay.mjs');

/**
 * The event-loop delay of a server started with bench/loop-delay.mjs preloaded: `restart()` begins a window (the
 * report SIGUSR2 makes of the time before is ignored), `read()` ends it and resolves with its report.
 */
function loopDelayReader(server) {
  const reports = () => server.output().match(/^bench-loop-delay .*$/gm) ?? [];
  let seen = 0;
  const signal = () => {
    seen = reports().length;
    process.kill(server.child.pid, 'SIGUSR2');
  };
  return {
    restart: signal,
    async read() {
      signal();
      for (let waited = 0; waited < 2000; waited += 10) {
        const all = reports();
        if (all.length > seen) return JSON.parse(all[seen].slice('bench-loop-delay '.length));
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      throw new Error('a server preloaded with bench/loop-delay.mjs did not report its loop delay');
    },
  };
}

/** Microseconds of the monotonic clock: the time base of V8's CPU profiles on Linux. */
const monotonicMicros = () => Number(process.hrtime.bigint() / 1000n);

/**
 * Fork the load generator and collect its result, sampling CPU time of `pids` when the window opens and closes.
 * `loopDelayOf`: a server preloaded with bench/loop-delay.mjs, whose event-loop delay over the window is read too.
 */
function runLoadProcess(loadOptions, pids, cpus, loopDelayOf = undefined) {
  const child = track(fork(path.join(benchFolder, 'load.mjs'), [JSON.stringify(loadOptions)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    ...(cpus ? { execPath: 'taskset', execArgv: ['-c', cpus, process.execPath] } : {}),
  }));
  const start = {};
  const cpu = {};
  const window = {};
  let writes;
  let loopDelay;
  const processes = { ...pids, load: child.pid };
  const sample = () => ({
    ...Object.fromEntries(Object.entries(processes).map(([name, pid]) => [name, cpuSeconds(pid)])),
    machine: machineBusySeconds(),
    // Write system calls of the process under test: socket writes plus what SQLite writes, a batching check.
    writes: writeSyscalls(pids.server ?? pids.upstream),
  });
  return new Promise((resolve, reject) => {
    child.on('message', (message) => {
      if (message.phase === 'measuring') {
        Object.assign(start, sample());
        window.start = monotonicMicros();
        if (loopDelayOf) loopDelayOf.restart();
      } else if (message.phase === 'measured') {
        window.end = monotonicMicros();
        if (loopDelayOf) loopDelay = loopDelayOf.read();
        const end = sample();
        const delta = (name) => (end[name] === undefined || start[name] === undefined ? undefined : end[name] - start[name]);
        for (const name of [...Object.keys(processes), 'machine']) cpu[name] = delta(name);
        writes = delta('writes');
        // What other programs on the machine used meanwhile: the benchmark cannot control it, but it must show it.
        const ours = Object.keys(processes).reduce((sum, name) => sum + (cpu[name] ?? 0), 0);
        cpu.others = cpu.machine === undefined ? undefined : Math.max(0, cpu.machine - ours);
      } else if (message.phase === 'done') {
        Promise.resolve(loopDelay).then((delay) => resolve({ result: message.result, cpu, window, writes, loopDelay: delay }), reject);
      }
      else if (message.phase === 'failed') reject(new Error(`load generator failed: ${message.message}`));
    });
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`load generator exited with code ${code}`));
    });
  });
}

/** Start the scenario's server (if any), smoke-test it, load it, stop it. */
async function runScenario(scenario, upstream, settings, work) {
  const cpusFor = (role) => (settings.pin ? (role === 'server' ? '1' : '0') : undefined);
  const upstreamHeaders = { authorization: `Bearer ${upstreamKeySecret}` };
  // The servers under test (not the upstream) are profiled; the file is written when the process exits.
  const nodeFlags = [
    ...(settings.profile ? ['--cpu-prof', `--cpu-prof-dir=${settings.profile}`, `--cpu-prof-name=${scenario.name}.cpuprofile`] : []),
    ...(settings.loopDelay ? ['--import', loopDelayPreload] : []),
    ...settings.nodeFlags,
  ];
  let server;
  let target;
  if (scenario.target === 'upstream') {
    target = { url: upstream.url, headers: upstreamHeaders, model: 'gpt-4o-mini' };
  } else if (scenario.target === 'minimal') {
    server = await startServer('minimal proxy', [...nodeFlags, path.join(benchFolder, 'minimal-proxy.mjs'), '--upstream', upstream.url], { cpus: cpusFor('server') });
    target = { url: server.url, headers: upstreamHeaders, model: 'gpt-4o-mini' };
  } else {
    const folder = mkdtempSync(path.join(work, `${scenario.name}-`));
    const configFile = path.join(folder, 'covenant.yaml');
    writeFileSync(configFile, covenantConfig({ upstreamUrl: upstream.url, storePath: path.join(folder, 'covenant.db'), ...scenario.config }));
    // The no-ledger launcher starts the same app without its ledger stage: the difference is what the ledger costs.
    const entry = scenario.withoutLedger ? [path.join(benchFolder, 'covenant-without-ledger.mjs'), configFile] : [path.join(root, 'bin', 'covenant'), 'serve', '--config', configFile, '--port', '0'];
    server = await startServer('covenant', [...nodeFlags, ...entry], {
      environment: covenantEnvironment, cpus: cpusFor('server'),
    });
    target = { url: server.url, headers: { authorization: `Bearer ${benchKeySecret}` }, model: 'fast' };
  }
  try {
    await smokeTest(target, scenario);
    const pids = { upstream: upstream.child.pid, ...(server ? { server: server.child.pid } : {}) };
    const load = {
      url: target.url, path: '/v1/chat/completions', headers: target.headers, body: requestBody({ model: target.model, stream: scenario.stream }),
      stream: scenario.stream, connections: settings.connections, warmupSeconds: settings.warmupSeconds, durationSeconds: settings.durationSeconds,
    };
    const { result, cpu, window, writes } = await runLoadProcess(load, pids, cpusFor('load'));
    // The same server, not saturated: what a request costs when the server keeps up. It gets 3 s at the paced rate
    // first, so the work the saturated run left behind (WAL checkpoints of its writes, a grown heap) is not measured.
    const pacedRun = settings.pacedRate > 0
      ? await runLoadProcess({ ...load, rate: settings.pacedRate, warmupSeconds: 3, durationSeconds: Math.min(5, settings.durationSeconds) }, pids, cpusFor('load'),
        settings.loopDelay ? loopDelayReader(server ?? upstream) : undefined)
      : undefined;
    return { scenario, result, cpu, window, writes, paced: pacedRun?.result, pacedLoopDelay: pacedRun?.loopDelay };
  } finally {
    if (server) await stopProcess(server.child);
  }
}

/** On a shared machine: wait (at most `seconds`) until one second passes with the CPU less than 10% busy. */
async function waitForQuiet(seconds, cores) {
  const deadline = Date.now() + seconds * 1000;
  let busy = 1;
  while (Date.now() < deadline) {
    const before = machineBusySeconds();
    if (before === undefined) return;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    busy = (machineBusySeconds() - before) / cores;
    if (busy < 0.1) return;
  }
  process.stdout.write(`(still ${(busy * 100).toFixed(0)}% busy after ${seconds} s) `);
}

/**
 * Of several rounds of one scenario, the one least disturbed by other programs on the machine (ties: the faster).
 * Every round runs the same thing, so the differences between them are disturbance, not Covenant.
 */
function leastDisturbedRun(runs) {
  const others = (run) => run.cpu.others ?? 0;
  return [...runs].sort((a, b) => others(a) - others(b) || b.result.requestsPerSecond - a.result.requestsPerSecond)[0];
}

async function main() {
  const settings = options();
  if (!existsSync(path.join(root, 'dist', 'cli', 'main.js'))) {
    process.stderr.write('bench: Covenant is not built; run `npm run build` first (`npm run bench` does)\n');
    process.exit(2);
  }
  installCleanup();
  const work = mkdtempSync(path.join(os.tmpdir(), 'covenant-bench-'));
  onExit(() => rmSync(work, { recursive: true, force: true }));
  if (settings.profile) mkdirSync(settings.profile, { recursive: true });

  const machine = machineFacts(root);
  const chosen = scenarios.filter((scenario) => !settings.only || settings.only.includes(scenario.name));
  process.stdout.write(`Covenant load benchmark\n${formatMachine(machine)}\n`);
  process.stdout.write(`load:    ${settings.connections} connections, closed loop, ${settings.warmupSeconds} s warm-up + ${settings.durationSeconds} s measured per scenario`
    + `${settings.rounds > 1 ? `, ${settings.rounds} rounds (the least disturbed shown)` : ''}${settings.pin ? ', pinned (taskset)' : ''}\n`
    + `${settings.nodeFlags.length > 0 ? `servers: node ${settings.nodeFlags.join(' ')}\n` : ''}\n`);

  const upstream = await startServer('fake upstream', [...(settings.loopDelay ? ['--import', loopDelayPreload] : []), path.join(benchFolder, 'fake-upstream.mjs')], { cpus: settings.pin ? '0' : undefined });
  const all = new Map(chosen.map((scenario) => [scenario.name, []]));
  const steps = chosen.length * settings.rounds;
  let step = 0;
  // Rounds interleave the scenarios, so a burst of other work on the machine does not land on one scenario only.
  for (let round = 1; round <= settings.rounds; round++) {
    // Each round starts one scenario later, so no scenario always follows the same one (a server that just stopped
    // can leave work behind: the kernel writing back its files, a cooling CPU cache).
    const order = chosen.map((_, index) => chosen[(index + round - 1) % chosen.length]);
    for (const scenario of order) {
      process.stdout.write(`[${++step}/${steps}] ${scenario.label} … `);
      if (settings.waitQuietSeconds > 0) await waitForQuiet(settings.waitQuietSeconds, machine.cores);
      const run = await runScenario(scenario, upstream, settings, work);
      all.get(scenario.name).push(run);
      const { result, cpu } = run;
      const others = cpu.others === undefined ? '' : `, other programs ${((cpu.others / (result.windowMs / 1000) / machine.cores) * 100).toFixed(0)}% CPU`;
      const paced = run.paced ? `; at ${settings.pacedRate}/s: p50 ${run.paced.latencyMs.p50.toFixed(2)} ms, p99 ${run.paced.latencyMs.p99.toFixed(2)} ms` : '';
      process.stdout.write(`${result.requestsPerSecond.toFixed(0)} req/s, p50 ${result.latencyMs.p50.toFixed(2)} ms, p99 ${result.latencyMs.p99.toFixed(2)} ms${paced}${others}`
        + `${result.errors ? `, ${result.errors} errors: ${result.errorSamples[0]}` : ''}\n`);
      const profile = settings.profile && path.join(settings.profile, `${scenario.name}.cpuprofile`);
      if (profile && existsSync(profile)) {
        process.stdout.write(`    hottest functions (self time) in ${profile}:\n${summarizeProfile(profile, settings.profileLines, '      ', run.window)}\n`);
      }
    }
  }
  await stopProcess(upstream.child);

  const runs = chosen.map((scenario) => leastDisturbedRun(all.get(scenario.name)));
  const rows = tableRows(runs, machine.cores);
  const checks = checkTargets(rows, settings.pacedRate, all, machine.cores);
  // Separate runs of (c) and (d) minutes apart swing by ±20% a round on a shared machine; the paired benchmark
  // alternates the two in one window and is steady to about ±5%, so it decides the budgets target.
  const budgetsCheck = checks.find((check) => check.target.startsWith('budgets at 3 levels'));
  if (budgetsCheck && settings.pairedLaunches > 0) {
    process.stdout.write(`\nbudgets target: bench/paired.mjs, ${settings.pairedLaunches} launches … `);
    const paired = await pairedBudgets(settings.pairedLaunches);
    process.stdout.write(`budgets/plain throughput ${paired.throughput.toFixed(3)}, plain/budgets CPU per request ${paired.cpu.toFixed(3)}\n`);
    budgetsCheck.value = `${(paired.throughput * 100).toFixed(0)}% paired over ${settings.pairedLaunches} launches (separate runs: ${budgetsCheck.value})`;
    budgetsCheck.ok = paired.throughput >= 0.9;
  }
  process.stdout.write(`\n${formatTable(rows)}\n\n`);
  process.stdout.write([
    'added: latency minus that of (a) direct in the same mode; vs minimal proxy: throughput over that of (b) in the same mode;',
    ...(settings.pacedRate > 0 ? [`@ ${settings.pacedRate}/s: the same server with requests paced at ${settings.pacedRate} per second over the same connections (open loop, latency from when each was due);`] : []),
    'CPU µs/req and writes/req: CPU time and write system calls (socket + file) of the process under test, per request;',
    'other load: share of the machine used by programs outside the benchmark during the window.',
    ...(settings.loopDelay ? ['loop delay @ rate: how late a 1 ms timer in the server under test fired during the paced run: p99 / longest, in ms, and how often it was over 5 ms late.'] : []),
    '',
  ].join('\n'));
  if (checks.length > 0) process.stdout.write(`\n${formatTargets(checks)}\n`);
  const busiest = Math.max(...rows.map((row) => (Number.isFinite(row.otherLoad) ? row.otherLoad : 0)));
  if (busiest > 0.05) {
    process.stdout.write(`\nWARNING: other programs used up to ${(busiest * 100).toFixed(0)}% of the machine during a measurement; the numbers are disturbed. Rerun on a quiet machine.\n`);
  }
  if (settings.json) {
    writeFileSync(settings.json, `${JSON.stringify({ machine, settings, runs: [...all.values()].flat(), rows, checks }, null, 2)}\n`);
    process.stdout.write(`\nresults written to ${settings.json}\n`);
  }
  if ([...all.values()].flat().some((run) => run.result.errors > 0 || (run.paced?.errors ?? 0) > 0)) {
    process.stderr.write('bench: some requests failed; the numbers above are not trustworthy\n');
    process.exitCode = 1;
  }
}

// `--scenario soak`: the long soak (bench/soak.mjs) instead of the comparison table.
const run = process.argv.some((argument) => argument === '--scenario' || argument.startsWith('--scenario='))
  ? import('./soak.mjs').then(({ runSoak }) => runSoak(process.argv.slice(2)))
  : main();
run.catch((error) => {
  process.stderr.write(`\nbench: ${error.message}\n`);
  killAll();
  process.exit(1);
});
