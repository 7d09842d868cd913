// One window-pruning pass over a large SQLite budget store: its time, the longest event-loop stall, and RSS growth.
// Usage: node bench/prune-pass.mjs [--dist DIR] [--users N] [--closed N] [--limit N]. The database holds what N end
// users leave (default 1,000,000): each user's day and month counters of the current windows, plus the day counters
// of `--closed` users from yesterday (default 200,000), and the org's and 100 departments' counters. The pass runs in
// a fresh child process over the built database, so its RSS is the pass's and not the build's.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

// The store's fold thread does not hold the process open; its close() waits for it, so something must.
const keepAlive = setInterval(() => {}, 1000);

const { values } = parseArgs({
  options: {
    dist: { type: 'string', default: path.join(path.dirname(path.dirname(fileURLToPath(import.meta.url))), 'dist') },
    users: { type: 'string', default: '1000000' },
    closed: { type: 'string', default: '200000' },
    limit: { type: 'string', default: '10000' },
    measure: { type: 'string' },
  },
});
const dist = path.resolve(values.dist);
const { openDatabase } = await import(path.join(dist, 'stores/sqlite/database.js'));
const { createSqliteBudgetStore } = await import(path.join(dist, 'stores/sqlite/budget-store.js'));
const now = Date.parse('2026-12-06T12:00:00Z');

if (values.measure === undefined) {
  const folder = mkdtempSync(path.join(os.tmpdir(), 'covenant-prune-pass-'));
  try {
    const file = path.join(folder, 'covenant.db');
    const database = openDatabase(file);
    await createSqliteBudgetStore(database).close();
    const insert = database.prepare('INSERT INTO budget_counters (counter_key, scope, unit, period, window_key, spent, reserved) VALUES (?, ?, ?, ?, ?, 50, 0)');
    const row = (scope, unit, period, windowKey) => insert.run(`${scope}|${unit}:${period}|${windowKey}`, scope, unit, period, windowKey);
    const started = performance.now();
    database.transaction(() => {
      for (const windowKey of ['2026-12-05', '2026-12-06']) row('org', 'usd', 'day', windowKey);
      for (let department = 0; department < 100; department += 1) row(`department:d${department}`, 'usd', 'day', '2026-12-06');
      for (let user = 0; user < Number(values.users); user += 1) {
        const scope = `user:d${user % 100}/u${user}`;
        row(scope, 'usd', 'day', '2026-12-06');
        row(scope, 'tokens', 'month', '2026-12');
        if (user < Number(values.closed)) row(scope, 'usd', 'day', '2026-12-05');
      }
    })();
    const rows = database.prepare('SELECT COUNT(*) AS count FROM budget_counters').get().count;
    database.pragma('wal_checkpoint(TRUNCATE)');
    database.close();
    console.log(`built ${rows.toLocaleString('en-US')} counter rows in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--dist', dist, '--limit', values.limit, '--measure', file], { stdio: 'inherit' });
    process.exitCode = child.status ?? 1;
  } finally {
    rmSync(folder, { recursive: true, force: true });
    clearInterval(keepAlive);
  }
} else {
  const { pruneClosedWindows } = await import(path.join(dist, 'budgets/window-pruning.js'));
  const database = openDatabase(values.measure);
  const store = createSqliteBudgetStore(database);
  await store.spend({ scope: 'org' });
  // Time of the pass's two store calls: the read of closed counters, and their deletion.
  const timings = {};
  for (const name of ['spend', 'pruneCounters']) {
    const call = store[name].bind(store);
    store[name] = async (...parameters) => {
      const at = performance.now();
      try {
        return await call(...parameters);
      } finally {
        timings[name] = (timings[name] ?? 0) + performance.now() - at;
      }
    };
  }
  const rssBefore = process.memoryUsage().rss;
  // The longest gap between turns of a 5 ms timer: how long the event loop was kept from other work.
  let last = performance.now();
  let stall = 0;
  const ticker = setInterval(() => {
    const at = performance.now();
    stall = Math.max(stall, at - last);
    last = at;
  }, 5);
  const started = performance.now();
  let reported = 0;
  const pruned = await pruneClosedWindows({
    store, now, graceMs: 600_000, timeZone: 'UTC', limit: Number(values.limit),
    report: async (counters) => { reported = counters.length; },
  });
  const elapsed = performance.now() - started;
  await new Promise((resolve) => setTimeout(resolve, 20));
  clearInterval(ticker);
  const peak = process.resourceUsage().maxRSS * 1024;
  const megabytes = (bytes) => (bytes / 1048576).toFixed(0);
  console.log(`pass: ${pruned} pruned (${reported} reported) in ${elapsed.toFixed(0)} ms (read ${timings.spend.toFixed(0)}, delete ${timings.pruneCounters.toFixed(0)}); longest event-loop stall ${stall.toFixed(0)} ms;`
    + ` RSS ${megabytes(rssBefore)} MB before, peak ${megabytes(peak)} MB (+${megabytes(peak - rssBefore)} MB)`);
  await store.close();
  database.close();
  clearInterval(keepAlive);
}
