// Distributed mode end to end: three gateway replicas on one PostgreSQL schema and one Redis keep every budget exact,
// write one verifiable ledger, and refuse (503) rather than serve unmetered when Redis goes away.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type App } from '../src/gateway/app.js';
import { verifyLedger } from '../src/ledger/index.js';
import { startFakeOpenAI, type FakeOpenAI } from './fakes/openai.js';
import { closeReplicaSet, deleteRedisKeys } from './helpers/replicas.js';
import { createTestSchema, redisUrl, startTcpProxy, type TcpProxy, type TestSchema } from './helpers/services.js';

const bin = fileURLToPath(new URL('../bin/covenant', import.meta.url));
const version = 'gpt-4o-mini-2024-07-18';
const price = { input_per_mtok: 10, output_per_mtok: 30 };
const adminKey = 'sk-dist-admin';
const environment = { ADMIN_KEY: adminKey, KEY_A: 'sk-dist-a', KEY_B: 'sk-dist-b' };

let upstream: FakeOpenAI;
let schema: TestSchema;
let directory: string;
let proxy: TcpProxy;
const replicas: App[] = [];

function configText(cache: string): string {
  return `
store: ${schema.url}?schema=${schema.schema}
cache: ${cache}
admin_keys: [ { name: ops, key_env: ADMIN_KEY } ]
providers: [ { name: openai, type: openai, base_url: ${upstream.url} } ]
models: [ { alias: fast, provider: openai, version: ${version}, price: { input_per_mtok: ${price.input_per_mtok}, output_per_mtok: ${price.output_per_mtok} } } ]
org:
  name: acme
  budgets: [ { usd: 1, period: month } ]
  departments:
    - name: claims
      budgets: [ { usd: 0.25, period: day } ]
      user_budgets: [ { usd: 0.04, period: day } ]
      keys:
        - { name: bot-a, key_env: KEY_A, budgets: [ { usd: 0.1, period: day } ] }
        - { name: bot-b, key_env: KEY_B }
`;
}

async function startReplica(cache: string): Promise<App> {
  const file = join(directory, `replica-${replicas.length}.yaml`);
  writeFileSync(file, configText(cache));
  const app = await startApp({ configFile: file, environment, host: '127.0.0.1', port: 0 });
  replicas.push(app);
  return app;
}

const chat = (app: App, key: string, body: Record<string, unknown>, user?: string) => fetch(`${app.url}/v1/chat/completions`, {
  method: 'POST',
  headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...(user ? { 'x-covenant-user': user } : {}) },
  body: JSON.stringify(body),
});

beforeAll(async () => {
  upstream = await startFakeOpenAI({ prices: { [version]: price }, outputTokens: 30, behaviour: { latencyMs: 5, tokenDelayMs: 1 } });
  schema = createTestSchema();
  directory = mkdtempSync(join(tmpdir(), 'covenant-distributed-'));
  const redisPort = Number(new URL(redisUrl).port || 6379);
  proxy = await startTcpProxy(redisPort, new URL(redisUrl).hostname);
  // Three replicas start at once on an empty schema: migrations run once, config keys sync once.
  await Promise.all([startReplica(redisUrl), startReplica(redisUrl), startReplica(redisUrl)]);
});

afterAll(() => closeReplicaSet({ replicas, proxy, upstream, schema, directory }));

describe('three replicas', () => {
  it('keep every budget exact under concurrent load spread over them', async () => {
    const requests = Array.from({ length: 300 }, (_, index) => ({
      app: replicas[index % 3]!,
      key: index % 2 === 0 ? 'sk-dist-a' : 'sk-dist-b',
      user: `user-${index % 10}`,
      body: { model: 'fast', stream: index % 4 === 0, max_tokens: index % 3 === 0 ? 30 : undefined, messages: [{ role: 'user', content: `claim ${index}` }] },
    }));
    const answers = await Promise.all(requests.map(async ({ app, key, user, body }) => {
      const response = await chat(app, key, body, user);
      return { status: response.status, text: await response.text() };
    }));
    const statuses = answers.map((answer) => answer.status);
    expect(answers.filter((answer) => answer.status !== 200 && answer.status !== 402)).toEqual([]);
    expect(statuses.filter((status) => status === 402).length).toBeGreaterThan(10);
    expect(statuses.filter((status) => status === 200).length).toBeGreaterThan(10);
    expect(upstream.bill.costMicros).toBeLessThanOrEqual(250_000);

    // Every replica reports the same spend, equal to the provider's bill.
    const reports = await Promise.all(replicas.map(async (app) => (await fetch(`${app.url}/admin/spend`, { headers: { authorization: `Bearer ${adminKey}` } })).json()));
    for (const report of reports) {
      const department = report.scopes.find((scope: { scope: string }) => scope.scope === 'department:claims');
      expect(department.budgets[0].spent_micros).toBe(upstream.bill.costMicros);
      for (const scope of report.scopes) {
        for (const budget of scope.budgets) expect(budget.spent_micros ?? budget.spent).toBeLessThanOrEqual(budget.limit_micros ?? budget.limit);
      }
    }
  });

  it('write one ledger that verifies, with no gap in sequence numbers', async () => {
    const ledger = replicas[0]!.stores.ledger;
    const inferences = async () => (await ledger.entries({ from: 0, limit: 100_000 })).filter((entry) => entry.entry.kind === 'inference').length;
    const before = await inferences();
    // Requests spread over the three replicas at once; each is in the ledger (answered or refused) before its response.
    const statuses = await Promise.all(Array.from({ length: 60 }, async (_, index) => {
      const response = await chat(replicas[index % 3]!, 'sk-dist-b', { model: 'fast', max_tokens: 16, stream: index % 2 === 0, messages: [{ role: 'user', content: `ledger ${index}` }] }, `ledger-${index % 5}`);
      await response.arrayBuffer();
      return response.status;
    }));
    expect(statuses.every((status) => status === 200 || status === 402)).toBe(true);
    const result = await verifyLedger(ledger);
    expect(result.ok).toBe(true);
    const entries = await ledger.entries({ from: 0, limit: 100_000 });
    expect(entries.map((entry) => entry.seq)).toEqual(entries.map((_, index) => index));
    expect(await inferences()).toBeGreaterThanOrEqual(before + 60);
    // The CLI verifies the shared log straight from PostgreSQL.
    const cli = await promisify(execFile)(process.execPath, [bin, 'audit', 'verify', '--data', `${schema.url}?schema=${schema.schema}`]);
    expect(cli.stdout).toMatch(/ok|verified/i);
  });

  it('see a key revoked on another replica within a second', async () => {
    const created = await (await fetch(`${replicas[0]!.url}/admin/keys`, {
      method: 'POST', headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ department: 'claims', name: 'temp' }),
    })).json();
    await expect.poll(async () => (await chat(replicas[2]!, created.key, { model: 'fast', max_tokens: 16, messages: [{ role: 'user', content: 'x' }] })).status, { timeout: 3000 }).not.toBe(401);
    await fetch(`${replicas[1]!.url}/admin/keys/${created.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${adminKey}` } });
    await expect.poll(async () => (await chat(replicas[2]!, created.key, { model: 'fast', max_tokens: 16, messages: [{ role: 'user', content: 'x' }] })).status, { timeout: 3000 }).toBe(401);
  });

  it('apply a key edited on another replica within a second', async () => {
    const created = await (await fetch(`${replicas[0]!.url}/admin/keys`, {
      method: 'POST', headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ department: 'claims', name: 'edited' }),
    })).json();
    const ask = async () => (await chat(replicas[2]!, created.key, { model: 'fast', max_tokens: 16, messages: [{ role: 'user', content: 'x' }] })).status;
    await expect.poll(ask, { timeout: 3000 }).not.toBe(401);
    // The key had no rate limit (its answers are 200, or 402 once the department's budget is spent); the edit gives it one.
    expect(await ask()).not.toBe(429);
    const edited = await fetch(`${replicas[1]!.url}/admin/keys/${created.id}`, {
      method: 'PATCH', headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ rate_limit: { rpm: 1 } }),
    });
    expect(edited.status).toBe(200);
    await expect.poll(ask, { timeout: 3000 }).toBe(429);
  });
});

describe('when Redis fails', () => {
  it('refuses with 503 instead of serving unmetered, and keeps spend when Redis is back', async () => {
    const replica = await startReplica(`redis://127.0.0.1:${proxy.port}`);
    const before = upstream.bill.requests;
    const spend = async () => (await (await fetch(`${replica.url}/admin/spend?scope=department:claims`, { headers: { authorization: `Bearer ${adminKey}` } })).json()).scopes[0].budgets[0].spent_micros;
    const spentBefore = await spend();
    await proxy.stop();
    const refused = await chat(replica, 'sk-dist-b', { model: 'fast', max_tokens: 16, messages: [{ role: 'user', content: 'no redis' }] });
    expect(refused.status).toBe(503);
    expect((await refused.json()).error.code).toBe('budget_store_unavailable');
    expect(upstream.bill.requests).toBe(before);
    await proxy.start();
    // Spend was never reset; a flushed Redis is rebuilt from PostgreSQL before requests are served.
    await deleteRedisKeys(`covenant:${schema.schema}:`);
    await expect.poll(spend, { timeout: 5000 }).toBe(spentBefore);
  });
});
