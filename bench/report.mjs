// The benchmark's output: machine facts, the results table (ratios against baselines of the same run) and the targets.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

/** What the numbers depend on: CPU, cores, memory, Node, OS, and the commit measured. */
export function machineFacts(repositoryRoot) {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (match) cpuModel = match[1].trim();
  } catch {
    // not Linux: os.cpus() is good enough
  }
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repositoryRoot, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: repositoryRoot, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    if (dirty) commit += ' (with uncommitted changes)';
  } catch {
    // not a git checkout
  }
  return {
    date: new Date().toISOString(),
    cpu: cpuModel,
    cores: os.availableParallelism?.() ?? os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    commit,
  };
}

const fixed = (value, digits) => (Number.isFinite(value) ? value.toFixed(digits) : '–');
const signed = (value, digits) => (Number.isFinite(value) ? `${value >= 0 ? '+' : ''}${value.toFixed(digits)}` : '–');

/**
 * Rows with ratios: added latency against the scenario's `direct` baseline, throughput against its `minimal` one.
 * @param {Array<{scenario: object, result: object, cpu: Record<string, number|undefined>}>} runs
 */
export function tableRows(runs, cores) {
  const byName = new Map(runs.map((run) => [run.scenario.name, run]));
  return runs.map(({ scenario, result, cpu, writes, pacedLoopDelay }) => {
    const direct = byName.get(scenario.direct);
    const minimal = byName.get(scenario.minimal);
    const added = (key) => (direct && direct !== byName.get(scenario.name) ? result.latencyMs[key] - direct.result.latencyMs[key] : NaN);
    const paced = byName.get(scenario.name).paced;
    const pacedAdded = direct?.paced && paced && direct !== byName.get(scenario.name) ? paced.latencyMs.p99 - direct.paced.latencyMs.p99 : NaN;
    const server = scenario.target === 'upstream' ? cpu.upstream : cpu.server;
    return {
      name: scenario.name,
      label: scenario.label,
      requestsPerSecond: result.requestsPerSecond,
      p50: result.latencyMs.p50,
      p99: result.latencyMs.p99,
      addedP50: added('p50'),
      addedP99: added('p99'),
      pacedP99: paced?.latencyMs.p99 ?? NaN,
      pacedAddedP99: pacedAdded,
      ratioToMinimal: minimal ? result.requestsPerSecond / minimal.result.requestsPerSecond : NaN,
      // CPU time the process under test spent per request: the number that does not depend on how the 2 cores were shared.
      serverCpuMicrosPerRequest: server === undefined || result.requests === 0 ? NaN : (server / result.requests) * 1e6,
      writesPerRequest: writes === undefined || result.requests === 0 ? NaN : writes / result.requests,
      // Share of the machine that programs other than the benchmark's used during the window.
      otherLoad: cpu.others === undefined ? NaN : cpu.others / ((result.windowMs / 1000) * cores),
      errors: result.errors,
      pacedLoopDelay,
    };
  });
}

/** A Markdown table (readable in a terminal as is, and pasted into bench/RESULTS.md). */
export function formatTable(rows) {
  const paced = rows.some((row) => Number.isFinite(row.pacedP99));
  const loopDelay = rows.some((row) => row.pacedLoopDelay !== undefined);
  const header = ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'added p50 ms', 'added p99 ms', ...(paced ? ['p99 ms @ rate', 'added p99 ms @ rate'] : []),
    ...(loopDelay ? ['loop delay @ rate'] : []),
    'vs minimal proxy', 'CPU µs/req', 'writes/req', 'other load', 'errors'];
  const lines = rows.map((row) => [
    row.label,
    fixed(row.requestsPerSecond, 0),
    fixed(row.p50, 2),
    fixed(row.p99, 2),
    signed(row.addedP50, 2),
    signed(row.addedP99, 2),
    ...(paced ? [fixed(row.pacedP99, 2), signed(row.pacedAddedP99, 2)] : []),
    ...(loopDelay ? [row.pacedLoopDelay ? `${row.pacedLoopDelay.p99.toFixed(1)} / ${row.pacedLoopDelay.max.toFixed(1)}, ${(row.pacedLoopDelay.stallsOver5 / row.pacedLoopDelay.seconds).toFixed(1)}/s` : '–'] : []),
    Number.isFinite(row.ratioToMinimal) ? `${(row.ratioToMinimal * 100).toFixed(0)}%` : '–',
    fixed(row.serverCpuMicrosPerRequest, 0),
    fixed(row.writesPerRequest, 1),
    Number.isFinite(row.otherLoad) ? `${(row.otherLoad * 100).toFixed(0)}%` : '–',
    String(row.errors),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => line[column].length)));
  const format = (cells) => `| ${cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join(' | ')} |`;
  const rule = `|${widths.map((width, column) => (column === 0 ? `${'-'.repeat(width + 1)}-` : `${'-'.repeat(width + 1)}:`)).join('|')}|`;
  return [format(header), rule, ...lines.map(format)].join('\n');
}

/** The share of the machine that other programs used during a run's window (0 when unknown). */
function otherShare(run, cores) {
  const others = run.cpu?.others;
  return others === undefined || !cores ? 0 : others / ((run.result.windowMs / 1000) * cores);
}

/** Rounds in which other programs took more than this share of the machine are left out of a median. */
const disturbedShare = 0.1;

/**
 * A throughput ratio between two scenarios. With several rounds, each round's pair (measured minutes apart at most)
 * gives one ratio and the median counts: on a shared machine that is steadier than comparing two separate best runs.
 * A round in which other programs took more than 10% of the machine during either run is left out (unless every
 * round was), since one such round can swing the median of three.
 */
function throughputRatio(numerator, denominator, roundsByName, cores) {
  const top = roundsByName?.get(numerator.name) ?? [];
  const bottom = roundsByName?.get(denominator.name) ?? [];
  if (top.length > 1 && top.length === bottom.length) {
    const rounds = top.map((run, index) => ({
      ratio: run.result.requestsPerSecond / bottom[index].result.requestsPerSecond,
      disturbance: Math.max(otherShare(run, cores), otherShare(bottom[index], cores)),
    }));
    const quiet = rounds.filter((round) => round.disturbance <= disturbedShare);
    const counted = quiet.length > 0 ? quiet : rounds;
    const ratios = counted.map((round) => round.ratio).sort((a, b) => a - b);
    const middle = ratios.length / 2;
    const median = ratios.length % 2 ? ratios[Math.floor(middle)] : (ratios[middle - 1] + ratios[middle]) / 2;
    const left = counted === rounds ? [] : rounds.filter((round) => round.disturbance > disturbedShare);
    const leftOut = left.length === 0 ? '' : `; left out: ${left.map((round) => `${(round.ratio * 100).toFixed(0)}% (other programs took ${(round.disturbance * 100).toFixed(0)}% of the machine)`).join(', ')}`;
    return { ratio: median, detail: `median of ${ratios.length} rounds (${ratios.map((each) => `${(each * 100).toFixed(0)}%`).join(', ')})${leftOut}` };
  }
  return { ratio: numerator.requestsPerSecond / denominator.requestsPerSecond, detail: '' };
}

const percent = ({ ratio, detail }) => `${(ratio * 100).toFixed(0)}%${detail ? `, ${detail}` : ''}`;

/**
 * The throughput and budgets targets, checked where both sides of the comparison were measured.
 * `roundsByName`: every round's run of each scenario, in round order (for per-round ratios); `cores`: the machine's.
 */
export function checkTargets(rows, pacedRate = 0, roundsByName = undefined, cores = 0) {
  const row = (name) => rows.find((candidate) => candidate.name === name);
  const checks = [];
  const covenant = row('covenant');
  const minimal = row('minimal');
  const budgets = row('covenant-budgets');
  if (covenant && minimal) {
    const measured = throughputRatio(covenant, minimal, roundsByName, cores);
    checks.push({ target: 'Covenant throughput >= 50% of the minimal proxy', value: percent(measured), ok: measured.ratio >= 0.5 });
  }
  if (covenant && Number.isFinite(covenant.addedP99)) {
    checks.push({ target: 'Covenant added p99 <= 2 ms at 16 connections, saturated (closed loop)', value: `${covenant.addedP99.toFixed(2)} ms`, ok: covenant.addedP99 <= 2 });
  }
  if (covenant && Number.isFinite(covenant.pacedAddedP99)) {
    checks.push({ target: `Covenant added p99 <= 2 ms at 16 connections, paced at ${pacedRate} requests/s`, value: `${covenant.pacedAddedP99.toFixed(2)} ms`, ok: covenant.pacedAddedP99 <= 2 });
  }
  if (covenant && budgets) {
    const measured = throughputRatio(budgets, covenant, roundsByName, cores);
    checks.push({ target: 'budgets at 3 levels within 10% of plain Covenant', value: percent(measured), ok: measured.ratio >= 0.9 });
  }
  return checks;
}

export function formatTargets(checks) {
  return checks.map((check) => `${check.ok ? 'PASS' : 'MISS'}  ${check.target}: ${check.value}`).join('\n');
}

export function formatMachine(machine) {
  return [
    `date:    ${machine.date}`,
    `cpu:     ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB`,
    `node:    ${machine.node} on ${machine.os}`,
    `commit:  ${machine.commit}`,
  ].join('\n');
}
