// Heap held per key at scale: the key index of N keys loaded from the SQLite key store, and the budget stage's per-key
// scope cache once every key has been used. Usage: node --expose-gc bench/scale-memory.mjs [--dist DIR] [--keys N].
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    dist: { type: 'string', default: path.join(path.dirname(path.dirname(fileURLToPath(import.meta.url))), 'dist') },
    keys: { type: 'string', default: '100000' },
  },
});
if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
const dist = path.resolve(values.dist);
const count = Number(values.keys);
const { openDatabase } = await import(path.join(dist, 'stores/sqlite/database.js'));
const { SqliteKeyStore } = await import(path.join(dist, 'stores/sqlite/records.js'));
const { KeyIndex, storedDigest } = await import(path.join(dist, 'gateway/keys.js'));
/** A key's stored digest as POST /admin/keys keeps it (salted); a build from before salting keeps an unsalted hash. */
const digestOf = (secret) => (storedDigest ? storedDigest(secret) : createHash('sha256').update(secret).digest('hex'));
const { createBudgetStage } = await import(path.join(dist, 'gateway/stages/budget-stage.js'));

/** Heap in use after a full collection, MB. */
const heap = () => {
  globalThis.gc();
  return process.memoryUsage().heapUsed / 1024 / 1024;
};

const folder = mkdtempSync(path.join(os.tmpdir(), 'covenant-scale-memory-'));
const database = openDatabase(path.join(folder, 'covenant.db'));
try {
  // The keys as bench/scale.mjs writes them: 100 departments, a daily budget each.
  const store = new SqliteKeyStore(database);
  const createdAt = new Date().toISOString();
  const pending = [];
  database.transaction(() => {
    for (let index = 0; index < count; index += 1) {
      pending.push(store.insert({
        id: `key_${randomUUID().replaceAll('-', '').slice(0, 20)}`, department: `d${index % 100}`, name: `k${index}`, models: null,
        budgets: [{ usd: 50, period: 'day' }], source: 'api', secretHash: digestOf(randomBytes(16).toString('hex')), createdAt,
      }));
    }
  })();
  await Promise.all(pending);

  const beforeIndex = heap();
  const index = new KeyIndex(store);
  await index.load([], new Date());
  const keyIndex = heap() - beforeIndex;

  // Every key through the budget stage once; the guard refuses at once, so only the scope lookup runs.
  const config = { org: { budgets: [{ usd: 1_000_000, period: 'month' }], alerts: { thresholds: [0.8] }, timeZone: 'UTC' } };
  const departments = new Map(Array.from({ length: 100 }, (_, at) => [`d${at}`, {
    name: `d${at}`, budgets: [{ usd: 100_000, period: 'day' }], alerts: config.org.alerts, userBudgets: [{ usd: 5, period: 'day' }],
  }]));
  const stage = createBudgetStage({ reserve: async () => { throw new Error('measured'); } }, () => config);
  const beforeStage = heap();
  for (const key of index.active()) {
    const context = { key, department: departments.get(key.department), user: null, upstreamRequest: {}, model: { version: 'v', pricing: {} }, route: 'chat', state: {} };
    await stage.admit(context).catch(() => {});
  }
  const scopeCache = heap() - beforeStage;
  console.log(JSON.stringify({ keys: count, keyIndexMegabytes: Number(keyIndex.toFixed(1)), budgetStageMegabytes: Number(scopeCache.toFixed(1)) }));
  globalThis.keep = [index, stage];
} finally {
  database.close();
  rmSync(folder, { recursive: true, force: true });
}
