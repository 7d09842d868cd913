// Distributed-mode benchmark: one replica on the embedded SQLite store against two replicas sharing
// PostgreSQL + Redis, both with budgets at three levels, at 16 connections. Usage: node bench/distributed.mjs [--quick]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Redis } from 'ioredis';
import { covenantConfig, covenantEnvironment, benchKeySecret } from './configs.mjs';
import { runLoad } from './load.mjs';
import { installCleanup, startServer, stopProcess } from './processes.mjs';
import { requestBody } from './scenarios.mjs';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const quick = process.argv.includes('--quick');
const postgresUrl = process.env.COVENANT_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const redisUrl = process.env.COVENANT_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const schema = `covenant_bench_${randomBytes(5).toString('hex')}`;
const work = mkdtempSync(path.join(os.tmpdir(), 'covenant-bench-distributed-'));
installCleanup();

async function cleanup() {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
  const redis = new Redis(redisUrl);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `covenant:${schema}:*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  redis.disconnect();
  rmSync(work, { recursive: true, force: true });
}

async function replica(name, config) {
  const file = path.join(work, `${name}.yaml`);
  writeFileSync(file, config);
  return startServer(name, [path.join(root, 'bin', 'covenant'), 'serve', '--config', file, '--port', '0'], { environment: covenantEnvironment });
}

async function measure(label, urls) {
  const result = await runLoad({
    url: urls[0], urls, path: '/v1/chat/completions', headers: { authorization: `Bearer ${benchKeySecret}` },
    body: requestBody({ model: 'fast', stream: false }), stream: false, connections: 16,
    warmupSeconds: quick ? 1 : 2, durationSeconds: quick ? 3 : 10,
  });
  return { label, ...result };
}

const rows = [];
const upstream = await startServer('upstream', [path.join(root, 'bench', 'fake-upstream.mjs'), '--port', '0']);
try {
  const embedded = await replica('embedded', covenantConfig({ upstreamUrl: upstream.url, storePath: path.join(work, 'covenant.db'), budgets: true }));
  rows.push(await measure('1 replica, embedded SQLite', [embedded.url]));
  await stopProcess(embedded.child);

  const shared = covenantConfig({ upstreamUrl: upstream.url, storePath: 'unused', budgets: true })
    .replace(/^store: .*$/m, `store: ${postgresUrl}?schema=${schema}\ncache: ${redisUrl}`);
  const replicas = await Promise.all([replica('replica-1', shared), replica('replica-2', shared)]);
  rows.push(await measure('2 replicas, PostgreSQL + Redis', replicas.map((server) => server.url)));
  await Promise.all(replicas.map((server) => stopProcess(server.child)));
  const relaxed = shared.replace(`?schema=${schema}`, `?schema=${schema}&synchronous_commit=off`);
  const relaxedReplicas = await Promise.all([replica('relaxed-1', relaxed), replica('relaxed-2', relaxed)]);
  rows.push(await measure('2 replicas, PostgreSQL (synchronous_commit=off) + Redis', relaxedReplicas.map((server) => server.url)));
  await Promise.all(relaxedReplicas.map((server) => stopProcess(server.child)));
} finally {
  await stopProcess(upstream.child);
  await cleanup();
}

console.log(`\n| setup (budgets at 3 levels, 16 connections) | req/s | p50 ms | p99 ms | errors |\n|---|--:|--:|--:|--:|`);
for (const row of rows) {
  console.log(`| ${row.label} | ${Math.round(row.requestsPerSecond)} | ${row.latencyMs.p50.toFixed(2)} | ${row.latencyMs.p99.toFixed(2)} | ${row.errors} |`);
}
for (const row of rows) if (row.errorSamples.length > 0) console.log(`${row.label}: ${row.errorSamples.join('; ')}`);
