// One key refresh with N keys stored and none changed. Usage: node bench/key-refresh.mjs [--store sqlite|postgres] [--keys N] [--rounds N] [--dist DIR]
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    dist: { type: 'string', default: path.join(path.dirname(path.dirname(fileURLToPath(import.meta.url))), 'dist') },
    store: { type: 'string', default: 'sqlite' },
    keys: { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '20' },
    postgres: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
  },
});
const dist = path.resolve(values.dist);
const count = Number(values.keys);
const rounds = Number(values.rounds);
const { KeyIndex } = await import(path.join(dist, 'gateway/keys.js'));
const { digestSecret } = await import(path.join(dist, 'core/secret-digest.js'));

/** The key rows the scale run makes: ten departments, a few budget lists, salted digests. */
function keyRows() {
  const budgets = [JSON.stringify([{ usd: 5, period: 'day' }]), JSON.stringify([{ usd: 50, period: 'month' }]), '[]'];
  return Array.from({ length: count }, (_, index) => [
    `key_${index.toString(16).padStart(20, '0')}`, `department-${index % 10}`, `key-${index}`, budgets[index % 3],
    digestSecret(`sk-bench-${index}`, randomBytes(16)), new Date(Date.UTC(2025, 0, 1, 0, 0, index)).toISOString(),
  ]);
}

/** A key store of the chosen kind holding `count` keys, written in bulk (what the admin API would take hours to do). */
async function openStore() {
  const rows = keyRows();
  if (values.store === 'postgres') {
    const { createPostgresStores } = await import(path.join(dist, 'stores/postgres/index.js'));
    const schema = `covenant_bench_keys_${randomBytes(4).toString('hex')}`;
    const stores = await createPostgresStores({ url: values.postgres, schema, max: 2 });
    const stamped = typeof stores.keys.changedSince === 'function';
    for (let start = 0; start < rows.length; start += 5000) {
      const batch = rows.slice(start, start + 5000);
      const columns = [0, 1, 2, 3, 4, 5].map((column) => batch.map((row) => row[column]));
      await stores.database.pool.query(
        `INSERT INTO api_keys (id, department, name, budgets, secret_hash, created_at, source${stamped ? ', change_sequence' : ''})
         SELECT id, department, name, budgets::jsonb, secret_hash, created_at, 'api'${stamped ? ', 1' : ''}
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS t(id, department, name, budgets, secret_hash, created_at)`, columns);
    }
    return {
      keys: stores.keys,
      async close() {
        await stores.database.pool.query(`DROP SCHEMA ${schema} CASCADE`);
        await stores.close();
      },
    };
  }
  const { openDatabase } = await import(path.join(dist, 'stores/sqlite/database.js'));
  const { SqliteKeyStore } = await import(path.join(dist, 'stores/sqlite/records.js'));
  const folder = mkdtempSync(path.join(os.tmpdir(), 'covenant-key-refresh-'));
  const database = openDatabase(path.join(folder, 'covenant.db'));
  const keys = new SqliteKeyStore(database);
  const insert = database.prepare("INSERT INTO api_keys (id, department, name, budgets, secret_hash, created_at, source) VALUES (?, ?, ?, ?, ?, ?, 'api')");
  database.transaction(() => { for (const row of rows) insert.run(...row); })();
  return {
    keys,
    async close() {
      database.close();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

const store = await openStore();
const index = new KeyIndex(store.keys);
await index.load([], new Date());
const incremental = typeof store.keys.changedSince === 'function';
// Before the change feed, each second's tick listed every key for the department map, then again for the index.
const tick = incremental
  ? () => index.refresh()
  : async () => {
    const departments = new Map((await index.list()).map((key) => [key.id, key]));
    await index.refresh();
    return departments.size;
  };
await tick();
const wall = [];
const cpu = [];
for (let round = 0; round < rounds; round += 1) {
  const started = process.hrtime.bigint();
  const usage = process.cpuUsage();
  await tick();
  const used = process.cpuUsage(usage);
  wall.push(Number(process.hrtime.bigint() - started) / 1e6);
  cpu.push((used.user + used.system) / 1000);
}
const median = (list) => [...list].sort((left, right) => left - right)[Math.floor(list.length / 2)];
console.log(JSON.stringify({
  store: values.store, keys: count, refresh: incremental ? 'incremental' : 'full re-list', rounds,
  wall_ms: Number(median(wall).toFixed(3)), cpu_ms: Number(median(cpu).toFixed(3)),
  active_keys: [...index.active()].length,
}));
await store.close();
