// `npm run bench -- --scenario soak [--minutes N]`: a long mixed load on one `covenant serve` (JSON and streams, client
// aborts, over-budget and invalid-body refusals) sampling the server's RSS, event-loop delay, WAL size and open file
// handles; reports whether each stayed flat (the least-squares slope over the second half of the run; the WAL against
// the checkpointer's bound).
//
// The load is paced by default (`--rate R` requests per second over `--connections` connections, open loop): the work
// per minute is the same all hour, so a figure that rises shows the gateway accumulating, not the load changing with
// the host's other work (a shared host sped a closed loop up fivefold within one run). `--rate 0` is the closed loop.
//
// Event-loop delay comes from bench/loop-delay.mjs preloaded into the server (`--import`, as `--loop-delay` does):
// nothing in the gateway changes for the soak. The other figures are read from /proc (Linux only).
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { benchKeySecret, covenantConfig, covenantEnvironment } from './configs.mjs';
import { installCleanup, killAll, startServer, stopProcess } from './processes.mjs';

const benchFolder = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(benchFolder);
const brokeSecret = 'sk-covenant-soak-broke';

const usage = `usage: npm run bench -- --scenario soak [--minutes N] [--rate R] [--sample S] [--connections N] [--json FILE]
  --minutes N      how long the load runs (default 60)
  --rate R         requests per second, paced over the connections (open loop; default 100); 0: closed loop, each
                   connection sends its next request when the last answer is read
  --sample S       seconds between samples (default 10; at least 8 samples are taken whatever the length)
  --connections N  connections (default 8); paced requests beyond them wait in the client's queue, up to one
                   second's worth (later ones are skipped and counted)
  --json FILE      also write every sample and the verdicts as JSON`;

/**
 * The WAL's bound: the checkpointer holds the writer once the WAL passes 16 MiB (src/stores/sqlite/checkpointer.ts),
 * checking every 250 ms and, while a reader keeps an old snapshot, backing off to every 2 s; what is committed between
 * two checks comes on top. 8 MiB is a couple of seconds of the WAL this load writes (bench/RESULTS.md, Soak).
 */
const walBoundMiB = 16 + 8;

/**
 * The thresholds: a figure is flat when its fitted change over the second half is below both the floor and the share.
 * The WAL is judged by a bound instead: its file only grows (SQLite writes it again from its start after a checkpoint,
 * and truncates it only past journal_size_limit), so it steps up to its working size and stays there; a WAL that
 * really grew would pass the bound.
 */
export const metrics = [
  { name: 'rss_mib', label: 'RSS (MiB)', floor: 16, share: 0.1 },
  { name: 'loop_p99_ms', label: 'event-loop delay p99 (ms)', floor: 5, share: 0.5 },
  { name: 'wal_mib', label: 'WAL file (MiB)', bound: walBoundMiB },
  { name: 'wal_used_mib', label: 'WAL in use (MiB)', bound: walBoundMiB },
  { name: 'open_fds', label: 'open handles (/proc/PID/fd)', floor: 5, share: 0.1 },
];

/** The slope (per second) of the least-squares line through (x, y). */
export function slope(points) {
  const count = points.length;
  if (count < 2) return 0;
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / count;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / count;
  let numerator = 0;
  let denominator = 0;
  for (const [x, y] of points) {
    numerator += (x - meanX) * (y - meanY);
    denominator += (x - meanX) ** 2;
  }
  return denominator === 0 ? 0 : numerator / denominator;
}

/** Flat when the line's change over the second half stays under max(floor, share × the half's mean), or every sample under the metric's `bound`. */
export function verdict(samples, metric) {
  const half = samples.slice(Math.floor(samples.length / 2));
  const points = half.map((sample) => [sample.seconds, sample[metric.name]]);
  const perSecond = slope(points);
  const span = half.length > 1 ? half.at(-1).seconds - half[0].seconds : 0;
  const mean = points.reduce((sum, [, y]) => sum + y, 0) / Math.max(1, points.length);
  const change = perSecond * span;
  const max = Math.max(...samples.map((sample) => sample[metric.name]));
  const allowed = metric.bound ?? Math.max(metric.floor, metric.share * Math.abs(mean));
  const flat = metric.bound === undefined ? change <= allowed : max <= metric.bound;
  return { metric: metric.name, label: metric.label, first: samples[0]?.[metric.name], last: samples.at(-1)?.[metric.name], max, slopePerMinute: perSecond * 60, changeOverSecondHalf: change, allowed, bounded: metric.bound !== undefined, flat };
}

function rssMiB(pid) {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

function walMiB(database) {
  try {
    return statSync(`${database}-wal`).size / (1024 * 1024);
  } catch {
    return 0;
  }
}

/**
 * The part of the WAL in use: the frames since the WAL last started over (mxFrame in the wal-index header at the start
 * of the -shm file, https://sqlite.org/walformat.html#the_wal_index_file_format). The file itself only grows: after a
 * checkpoint SQLite writes the WAL again from its start, over the same file, and truncates it only past
 * journal_size_limit.
 */
function walUsedMiB(database) {
  let descriptor;
  try {
    descriptor = openSync(`${database}-shm`, 'r');
    const header = Buffer.alloc(20);
    if (readSync(descriptor, header, 0, 20, 0) < 20) return 0;
    // The wal-index is in the machine's byte order: little-endian on x86 and Arm Linux.
    const pageSize = header.readUInt16LE(14) === 1 ? 65536 : header.readUInt16LE(14);
    const frames = header.readUInt32LE(16);
    return frames === 0 ? 0 : (32 + frames * (pageSize + 24)) / (1024 * 1024);
  } catch {
    return 0;
  } finally {
    if (descriptor !== undefined) closeSync(descriptor);
  }
}

/** One request of the mix; returns what happened (for the counts), never throws. */
async function one(pool, index) {
  const kind = ['json', 'stream', 'json', 'stream', 'abort', 'json', 'stream', 'over-budget', 'json', 'invalid'][index % 10];
  const key = kind === 'over-budget' ? brokeSecret : benchKeySecret;
  const body = kind === 'invalid'
    ? '{"model": "fast", "messages": "not a list"'
    : JSON.stringify({ model: 'fast', max_tokens: 64, stream: kind === 'stream' || kind === 'abort', messages: [{ role: 'user', content: `soak request ${index}` }] });
  const controller = new AbortController();
  try {
    const response = await pool.request({
      path: '/v1/chat/completions', method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body, signal: controller.signal,
    });
    if (kind === 'abort') {
      for await (const _ of response.body) {
        controller.abort();
        break;
      }
      return 'abort';
    }
    await response.body.text();
    return `${kind} ${response.statusCode}`;
  } catch (error) {
    return kind === 'abort' ? 'abort' : `${kind} error`;
  }
}

function format(value, digits = 1) {
  return Number.isFinite(value) ? value.toFixed(digits) : '–';
}

export async function runSoak(argv) {
  let values;
  try {
    values = parseArgs({ args: argv, options: {
      scenario: { type: 'string' }, minutes: { type: 'string', default: '60' }, rate: { type: 'string', default: '100' }, sample: { type: 'string', default: '10' },
      connections: { type: 'string', default: '8' }, json: { type: 'string' }, help: { type: 'boolean', default: false },
    } }).values;
  } catch (error) {
    process.stderr.write(`bench: ${error.message}\n${usage}\n`);
    process.exit(2);
  }
  if (values.help) return void process.stdout.write(`${usage}\n`);
  if (values.scenario !== 'soak') {
    process.stderr.write(`bench: unknown --scenario "${values.scenario}" (only "soak")\n${usage}\n`);
    process.exit(2);
  }
  const minutes = Number(values.minutes);
  const connections = Math.round(Number(values.connections));
  const rate = Number(values.rate);
  if (!(minutes > 0) || !(connections > 0) || !(Number(values.sample) > 0) || !(rate >= 0)) {
    process.stderr.write(`bench: --minutes, --sample and --connections must be positive numbers, --rate at least 0\n${usage}\n`);
    process.exit(2);
  }
  const durationMs = minutes * 60_000;
  const sampleMs = Math.min(Number(values.sample) * 1000, durationMs / 8);
  installCleanup();
  const work = mkdtempSync(path.join(os.tmpdir(), 'covenant-soak-'));
  const database = path.join(work, 'covenant.db');
  const configFile = path.join(work, 'covenant.yaml');
  const upstream = await startServer('fake upstream', [path.join(benchFolder, 'fake-upstream.mjs')]);
  // The bench's budgets config, plus a key whose budget no request fits (the over-budget refusals).
  writeFileSync(configFile, `${covenantConfig({ upstreamUrl: upstream.url, storePath: database, budgets: true })}        - { name: broke, key_env: SOAK_BROKE_KEY, budgets: [ { usd: 0.0000001, period: day } ] }\n`);
  const server = await startServer('covenant', ['--import', path.join(benchFolder, 'loop-delay.mjs'), path.join(root, 'bin', 'covenant'), 'serve', '--config', configFile, '--port', '0'], { environment: { ...covenantEnvironment, SOAK_BROKE_KEY: brokeSecret } });
  const pid = server.child.pid;
  const load = rate > 0 ? `${rate} requests/s paced over ${connections} connections` : `${connections} closed-loop connections`;
  process.stdout.write(`soak: ${minutes} min, ${load}, a sample every ${format(sampleMs / 1000, 0)} s; server pid ${pid}\n`);

  const loopReports = () => server.output().match(/^bench-loop-delay .*$/gm) ?? [];
  const loopDelay = async () => {
    const seen = loopReports().length;
    server.child.kill('SIGUSR2');
    for (let attempt = 0; attempt < 100; attempt++) {
      const all = loopReports();
      if (all.length > seen) return JSON.parse(all[seen].slice('bench-loop-delay '.length));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return { p99: NaN, max: NaN };
  };

  const started = Date.now();
  const counts = new Map();
  let running = true;
  let sequence = 0;
  let inflight = 0;
  const pool = new Pool(server.url, { connections });
  const send = async () => {
    inflight++;
    const outcome = await one(pool, sequence++);
    inflight--;
    counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
  };
  // Paced: request i is due at start + i / rate; a late tick sends every request that has fallen due. When the server
  // falls behind, at most one second's worth waits in the client's queue: requests due beyond that are skipped and
  // counted, so a starved host shows as a lower delivered rate rather than a backlog that grows without end (and then
  // drains at full speed).
  let skipped = 0;
  const pacer = async () => {
    const pending = new Set();
    let due = Date.now();
    while (running) {
      while (due <= Date.now()) {
        due += 1000 / rate;
        if (pending.size >= Math.max(connections, rate)) {
          skipped++;
          continue;
        }
        const sent = send();
        pending.add(sent);
        sent.finally(() => pending.delete(sent));
      }
      await new Promise((resolve) => setTimeout(resolve, Math.max(1, due - Date.now())));
    }
    await Promise.all(pending);
  };
  const workers = rate > 0 ? [pacer()] : Array.from({ length: connections }, async () => {
    while (running) await send();
  });
  await loopDelay(); // start the loop-delay window with the load
  const samples = [];
  while (Date.now() - started < durationMs) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(sampleMs, durationMs - (Date.now() - started))));
    const loop = await loopDelay();
    const sample = { seconds: (Date.now() - started) / 1000, rss_mib: rssMiB(pid), loop_p99_ms: loop.p99, loop_max_ms: loop.max, wal_mib: walMiB(database), wal_used_mib: walUsedMiB(database), open_fds: readdirSync(`/proc/${pid}/fd`).length, requests: sequence, inflight, skipped };
    samples.push(sample);
    process.stdout.write(`  ${format(sample.seconds, 0)} s: rss ${format(sample.rss_mib)} MiB, loop p99 ${format(sample.loop_p99_ms)} ms, wal ${format(sample.wal_mib, 2)} MiB (in use ${format(sample.wal_used_mib, 2)}), fds ${sample.open_fds}, ${sample.requests} requests, ${sample.inflight} in flight, ${sample.skipped} skipped\n`);
  }
  running = false;
  await Promise.all(workers);
  await pool.close();
  await stopProcess(server.child);
  await stopProcess(upstream.child);

  const verdicts = metrics.map((metric) => verdict(samples, metric));
  const lines = [
    '| figure | first | last | max | slope, 2nd half (/min) | fitted change, 2nd half | allowed | flat |',
    '|---|---|---|---|---|---|---|---|',
    ...verdicts.map((row) => `| ${row.label} | ${format(row.first)} | ${format(row.last)} | ${format(row.max)} | ${format(row.slopePerMinute, 3)} | ${format(row.changeOverSecondHalf, 2)} | ${row.bounded ? `max ≤ ${format(row.allowed, 0)}` : format(row.allowed, 2)} | ${row.flat ? 'yes' : '**no**'} |`),
  ];
  const mix = [...counts.entries()].sort().map(([outcome, count]) => `${outcome}: ${count}`).join(', ');
  const skippedNote = rate > 0 ? `; ${skipped} due requests skipped while the server was behind` : '';
  process.stdout.write(`\n${lines.join('\n')}\n\nrequests: ${sequence} (${mix})${skippedNote}\n`);
  if (values.json) writeFileSync(values.json, `${JSON.stringify({ minutes, rate, connections, samples, verdicts, counts: Object.fromEntries(counts), skipped }, null, 2)}\n`);
  rmSync(work, { recursive: true, force: true });
  if (verdicts.some((row) => !row.flat)) process.exitCode = 1;
  killAll();
}
