// Micro-benchmark of a console request's session lookup on PostgreSQL: with the one-second read cache, and reading the store every time.
// Run after `npm run build` with `node bench/console-session-lookup.mjs` (PostgreSQL at COVENANT_TEST_POSTGRES_URL or 127.0.0.1:5432/test).
import { existsSync } from 'node:fs';
import pg from 'pg';

const built = new URL('../dist/console/sessions.js', import.meta.url);
if (!existsSync(built)) throw new Error('Run `npm run build` first.');
const load = (path) => import(new URL(`../dist/${path}`, import.meta.url).href);
const { ConsoleSessions } = await load('console/sessions.js');
const { createPostgresConsoleSessionStore } = await load('stores/postgres/console-session-store.js');
const { openPostgres } = await load('stores/postgres/database.js');
const { SecretValue } = await load('config/secret-value.js');

const url = process.env.COVENANT_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `covenant_bench_${process.pid}`;
const database = await openPostgres({ url, schema });
try {
  const store = await createPostgresConsoleSessionStore(database);
  const key = { name: 'ops', role: 'admin', department: null, secret: new SecretValue('sk-bench-console') };
  const rows = [];
  for (const cacheMs of [1000, 0]) {
    const sessions = new ConsoleSessions({ store, cacheMs });
    const view = await sessions.open(key);
    for (let index = 0; index < 200; index += 1) await sessions.find(view.id, [key]);
    const count = 3000;
    const started = process.hrtime.bigint();
    for (let index = 0; index < count; index += 1) await sessions.find(view.id, [key]);
    rows.push({ lookup: cacheMs ? 'cached (1 s)' : 'store every time', 'µs per find': (Number(process.hrtime.bigint() - started) / 1000 / count).toFixed(1) });
  }
  console.table(rows);
} finally {
  await database.close();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
}
