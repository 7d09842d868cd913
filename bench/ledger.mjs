// Ledger micro-benchmark: batched appends per second into SQLite, and inclusion-proof time over a 10-million-entry log.
// Run: `npm run build && node bench/ledger.mjs` (or `node --import tsx bench/ledger.mjs` to use src/ directly).
// Environment: LEDGER_BENCH_APPENDS (default 200000), LEDGER_BENCH_SIZE (default 10000000),
// LEDGER_BENCH_SQLITE_SIZE (default = LEDGER_BENCH_SIZE; 0 skips the SQLite-backed proof measurement).
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';

// Under tsx the sources are measured (a dist/ left from an older build would be stale); otherwise the build output.
const underTsx = process.execArgv.some((argument) => argument.includes('tsx'));
async function load(name) {
  return underTsx ? import(`../src/${name}.ts`) : import(`../dist/${name}.js`);
}

const merkle = await load('core/merkle');
const ledger = await load('stores/sqlite/ledger-store');
const database = await load('stores/sqlite/database');
const checkpointer = await load('stores/sqlite/checkpointer');
const turn = await load('stores/sqlite/turn');
const migrations = await load('stores/sqlite/ledger-migrations');
const { lowestStoredLevel } = await load('stores/sqlite/ledger-tree');

const appends = Number(process.env.LEDGER_BENCH_APPENDS ?? 200_000);
const size = Number(process.env.LEDGER_BENCH_SIZE ?? 10_000_000);
const sqliteSize = Number(process.env.LEDGER_BENCH_SQLITE_SIZE ?? size);
const folder = mkdtempSync(join(tmpdir(), 'covenant-ledger-bench-'));
const rows = [];

function entry(index) {
  return {
    kind: 'inference',
    department: index % 2 ? 'legal' : 'sales',
    key: 'team-key',
    user: `user-${index % 1000}`,
    alias: 'chat',
    provider: 'openai',
    upstream_model: 'gpt-4o-2024-08-06',
    system_fingerprint: 'fp_50cad350e4',
    request_sha256: 'a'.repeat(64),
    response_sha256: 'b'.repeat(64),
    tokens: { input: 812, output: 164, cached_input: 0, reasoning: 0 },
    cost_usd_micros: 3670,
    latency_ms: 420,
    decision: { outcome: 'allowed' },
    config_version: 'cfg-7',
  };
}

function percentile(sorted, fraction) {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))];
}

function time(action) {
  const start = process.hrtime.bigint();
  const result = action();
  return { result, ms: Number(process.hrtime.bigint() - start) / 1e6 };
}

// The databases of the append measurements are opened as the gateway opens its database (src/stores/index.ts): WAL
// autocheckpoint off, one commit a turn through the turn queue, and checkpoints in a worker thread (so their fsyncs
// are not inside commits on the event loop) that holds the queue to start the WAL over when it grows.
const betterSqlite = createRequire(import.meta.url).resolve('better-sqlite3');
function openLikeTheGateway(path) {
  const db = database.openDatabase(path);
  db.pragma('wal_autocheckpoint = 0');
  const turns = turn.createTurnQueue(db, (error) => { throw error; });
  const walCheckpoints = checkpointer.startCheckpointer({ path, onError: (error) => { throw error; }, betterSqlitePath: betterSqlite, writer: turns });
  const close = async () => {
    // The worker is unref'd (a gateway has its server to keep running): hold the event loop open until it has stopped.
    const keepAlive = setInterval(() => {}, 1000);
    await walCheckpoints.stop();
    clearInterval(keepAlive);
    db.close();
  };
  return { db, turns, close };
}

// 0. Baselines measured in the same run, so results compare across machines: the raw SQLite insert of the same rows
// (no JCS, no hashing, no subtrees) and a plain JSON.stringify + SHA-256 of an entry.
const baselineRate = await (async () => {
  const { db, close } = openLikeTheGateway(join(folder, 'baseline.db'));
  database.migrate(db, migrations.ledgerMigrations);
  const insert = db.prepare('INSERT INTO ledger_entries (seq, time, kind, department, entry_json, leaf_hash) VALUES (?, ?, ?, ?, ?, ?)');
  const json = JSON.stringify(entry(0));
  const leaf = Buffer.alloc(32, 1);
  const started = process.hrtime.bigint();
  for (let done = 0; done < appends; done += 1000) {
    db.transaction(() => {
      for (let index = done; index < Math.min(appends, done + 1000); index += 1) insert.run(index, '2025-01-01T00:00:00.000Z', 'inference', index % 2 ? 'legal' : 'sales', json, leaf);
    })();
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await close();
  return appends / seconds;
})();
rows.push(['baseline: raw SQLite insert, same rows', `${Math.round(baselineRate).toLocaleString('en-US')} /s`, 'no JCS, no hashing, no subtrees, 1000 per transaction; WAL checkpoints in a worker']);
const hashRate = (() => {
  const started = process.hrtime.bigint();
  for (let index = 0; index < appends; index += 1) createHash('sha256').update(JSON.stringify(entry(index))).digest();
  return appends / (Number(process.hrtime.bigint() - started) / 1e9);
})();
rows.push(['baseline: JSON.stringify + SHA-256', `${Math.round(hashRate).toLocaleString('en-US')} /s`, 'per entry']);

// 1. Appends through the real store: group commit, one transaction per event-loop turn of appends (the gateway also
// shares that transaction with its other stores, which this leaves out).
for (const burst of [10, 100, 1000]) {
  const { db, turns, close } = openLikeTheGateway(join(folder, `appends-${burst}.db`));
  const store = ledger.openSqliteLedger({ database: db, schedule: turns.schedule });
  const start = process.hrtime.bigint();
  for (let done = 0; done < appends; done += burst) {
    await Promise.all(Array.from({ length: Math.min(burst, appends - done) }, (_, offset) => store.append(entry(done + offset))));
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await store.close();
  await close();
  const rate = appends / seconds;
  rows.push([
    `append (SQLite store, ${burst} per batch)`,
    `${Math.round(rate).toLocaleString('en-US')} /s`,
    `${appends.toLocaleString('en-US')} entries in ${seconds.toFixed(2)} s, ${((seconds / appends) * 1e6).toFixed(1)} µs each; ${((rate / baselineRate) * 100).toFixed(0)}% of the raw insert baseline; WAL checkpoints in a worker, as in the gateway`,
  ]);
}

// 2. A 10-million-leaf tree in memory (per-level buffers), then inclusion proofs from it.
const leafFor = (index) => merkle.hashLeaf(`entry ${index}`);
const tree = new merkle.MemoryMerkleTree();
const built = time(() => {
  for (let index = 0; index < size; index += 1) tree.appendLeafHash(leafFor(index));
});
rows.push([`build ${size.toLocaleString('en-US')}-leaf tree in memory`, `${(built.ms / 1000).toFixed(1)} s`, `${Math.round(size / (built.ms / 1000)).toLocaleString('en-US')} leaves/s`]);
const root = tree.root();

function measureProofs(label, prove, samples = 20_000) {
  const durations = [];
  for (let sample = 0; sample < samples; sample += 1) {
    const index = Math.floor(Math.random() * size);
    const start = process.hrtime.bigint();
    prove(index);
    durations.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  durations.sort((left, right) => left - right);
  const mean = durations.reduce((sum, value) => sum + value, 0) / durations.length;
  rows.push([label, `${(mean * 1000).toFixed(1)} µs mean`, `p50 ${(percentile(durations, 0.5) * 1000).toFixed(1)} µs, p99 ${(percentile(durations, 0.99) * 1000).toFixed(1)} µs, max ${(durations.at(-1) * 1000).toFixed(0)} µs`]);
}

measureProofs(`inclusion proof, ${size.toLocaleString('en-US')} leaves (memory)`, (index) => tree.inclusionProof(index, size));
const sampleProof = tree.inclusionProof(size - 1, size);
measureProofs('verify inclusion proof', (index) => merkle.verifyInclusion(size - 1, size, leafFor(size - 1), sampleProof, root), 20_000);
measureProofs(`consistency proof, ${size.toLocaleString('en-US')} leaves (memory)`, (index) => tree.consistencyProof(index + 1, size));

// 3. The same tree in the ledger's SQLite tables (leaf hashes and the subtrees the store keeps, levels from
// lowestStoredLevel up, written directly; entries tiny), then proofs through the read-only store, which is what
// `covenant audit proof` and the admin API use.
if (sqliteSize > 0) {
  const path = join(folder, 'big.db');
  const db = database.openDatabase(path);
  database.migrate(db, migrations.ledgerMigrations);
  const insertEntry = db.prepare("INSERT INTO ledger_entries (seq, time, kind, department, entry_json, leaf_hash) VALUES (?, '2025-01-01T00:00:00.000Z', 'bench', NULL, '{}', ?)");
  const insertNode = db.prepare('INSERT INTO ledger_nodes (level, idx, hash) VALUES (?, ?, ?)');
  const loaded = time(() => {
    const chunk = 100_000;
    for (let from = 0; from < sqliteSize; from += chunk) {
      db.transaction(() => {
        for (let index = from; index < Math.min(sqliteSize, from + chunk); index += 1) insertEntry.run(index, tree.node(0, index));
      })();
    }
    for (let level = lowestStoredLevel; 2 ** level <= sqliteSize; level += 1) {
      const count = Math.floor(sqliteSize / 2 ** level);
      db.transaction(() => {
        for (let index = 0; index < count; index += 1) insertNode.run(level, index, tree.node(level, index));
      })();
    }
  });
  db.close();
  rows.push([`load ${sqliteSize.toLocaleString('en-US')} leaves + subtrees into SQLite`, `${(loaded.ms / 1000).toFixed(1)} s`, `${(statSync(path).size / 1e9).toFixed(2)} GB file`]);
  const store = ledger.openSqliteLedger({ path, readOnly: true });
  const durations = [];
  for (let sample = 0; sample < 5_000; sample += 1) {
    const index = Math.floor(Math.random() * sqliteSize);
    const start = process.hrtime.bigint();
    await store.inclusionProof(index, sqliteSize);
    durations.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  durations.sort((left, right) => left - right);
  const mean = durations.reduce((sum, value) => sum + value, 0) / durations.length;
  rows.push([`inclusion proof, ${sqliteSize.toLocaleString('en-US')} leaves (SQLite store)`, `${(mean * 1000).toFixed(1)} µs mean`, `p50 ${(percentile(durations, 0.5) * 1000).toFixed(1)} µs, p99 ${(percentile(durations, 0.99) * 1000).toFixed(1)} µs (includes root and entry read)`]);
  const check = await store.inclusionProof(12345 % sqliteSize, sqliteSize);
  if (sqliteSize === size && check.root_hash !== merkle.toHex(root)) throw new Error('SQLite root differs from the in-memory root');
  await store.close();
}

rmSync(folder, { recursive: true, force: true });
const widths = [0, 1, 2].map((column) => Math.max(...rows.map((row) => row[column].length), ['measure', 'result', 'detail'][column].length));
const line = (cells) => `| ${cells.map((cell, column) => cell.padEnd(widths[column])).join(' | ')} |`;
console.log(line(['measure', 'result', 'detail']));
console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
for (const row of rows) console.log(line(row));
