// The SQLite budget store alone under many end users: CPU time and bytes read and written per request for 10 users,
// for every user's first request, and for returning users (what the scale benchmark's per-user cost is made of).
// Usage: node bench/scale-store.mjs [--dist DIR] [--users N] [--returning N] [--fold-ms N] [--concurrency N]. Each request reserves and settles five
// counters, as the scale benchmark's requests do: org, department, one of 100,000 keys, and the user's two budgets.
// Requests run in `--concurrency` loops (default 16); at 1 each miss is read alone, as a gateway's misses mostly are.
// CPU is given for the whole process (all threads) and for the main thread alone (the event loop's share), with the
// longest the event loop was kept from its next turn (a fold or a read that blocks it shows there).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    dist: { type: 'string', default: path.join(path.dirname(path.dirname(fileURLToPath(import.meta.url))), 'dist') },
    users: { type: 'string', default: '50000' },
    returning: { type: 'string', default: '20000' },
    'fold-ms': { type: 'string' },
    concurrency: { type: 'string', default: '16' },
  },
});
const users = Number(values.users);
const { openDatabase } = await import(path.join(path.resolve(values.dist), 'stores/sqlite/database.js'));
const { createSqliteBudgetStore } = await import(path.join(path.resolve(values.dist), 'stores/sqlite/budget-store.js'));
const folder = mkdtempSync(path.join(os.tmpdir(), 'covenant-scale-store-'));
const database = openDatabase(path.join(folder, 'covenant.db'));
const store = createSqliteBudgetStore(database, values['fold-ms'] === undefined ? {} : { foldIntervalMs: Number(values['fold-ms']) });
// A build from before settle took its amounts in the items' order takes them by counter key.
const byKey = !readFileSync(path.join(path.resolve(values.dist), 'stores/sqlite/budget-store.js'), 'utf8').includes('actual[index]');

/** Bytes this process has read and written through system calls so far (/proc/self/io). */
function io() {
  const text = readFileSync('/proc/self/io', 'utf8');
  return { read: Number(/rchar: (\d+)/.exec(text)[1]), written: Number(/wchar: (\d+)/.exec(text)[1]) };
}

/** CPU microseconds the main thread has used (/proc/self/task/PID/stat: utime and stime, in clock ticks of 10 ms). */
function mainThreadMicros() {
  const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

let sequence = 0;
async function request(user) {
  const keys = [
    'org|usd:month|2026-12', `department:d${user % 100}|usd:day|2026-12-06`, `key:k${user % 100_000}|usd:day|2026-12-06`,
    `user:d${user % 100}/u${user}|usd:day|2026-12-06`, `user:d${user % 100}/u${user}|tokens:month|2026-12`,
  ];
  const id = `r${sequence++}`;
  await store.decideAndReserve(id, Date.now(), keys, () => keys.map((counterKey) => ({ counterKey, amount: 100, limit: 1e15 })));
  await store.settle(id, byKey ? Object.fromEntries(keys.map((key) => [key, 50])) : keys.map(() => 50));
}

/** `count` requests over `--concurrency` loops; CPU µs and KB read and written per request. */
async function phase(count, userOf) {
  const ioBefore = io();
  const cpuBefore = process.cpuUsage();
  const mainBefore = mainThreadMicros();
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  let step = 0;
  await Promise.all(Array.from({ length: Number(values.concurrency) }, async () => { while (step < count) await request(userOf(step++)); }));
  const cpu = process.cpuUsage(cpuBefore);
  const main = mainThreadMicros() - mainBefore;
  delay.disable();
  const ioAfter = io();
  return {
    cpuMicrosPerRequest: Math.round((cpu.user + cpu.system) / count * 10) / 10,
    mainThreadCpuMicrosPerRequest: Math.round(main / count * 10) / 10,
    longestLoopDelayMs: Number((delay.max / 1e6).toFixed(1)),
    kilobytesWrittenPerRequest: Number(((ioAfter.written - ioBefore.written) / count / 1024).toFixed(1)),
    kilobytesReadPerRequest: Number(((ioAfter.read - ioBefore.read) / count / 1024).toFixed(1)),
  };
}

try {
  const tenUsers = await phase(Number(values.returning), (step) => step % 10);
  const first = await phase(users, (step) => (step * 7_919) % users);
  const returning = await phase(Number(values.returning), () => Math.floor(Math.random() * users));
  console.log(JSON.stringify({ users, tenUsers, first, returning }, null, 2));
} finally {
  await store.close();
  database.close();
  rmSync(folder, { recursive: true, force: true });
}
