// Two gateway replicas on one PostgreSQL schema: a key created, edited or revoked on one is served accordingly by the
// other within a second; a replica's refresh with nothing changed reads no key, and one key's admin routes read that key.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type App } from '../src/gateway/app.js';
import type { ChangedKeys } from '../src/stores/records.js';
import { startFakeOpenAI, type FakeOpenAI } from './fakes/openai.js';
import { closeReplicaSet } from './helpers/replicas.js';
import { createTestSchema, redisUrl, type TestSchema } from './helpers/services.js';

const version = 'gpt-4o-mini-2024-07-18';
const adminKey = 'sk-refresh-admin';
const environment = { ADMIN_KEY: adminKey, KEY_A: 'sk-refresh-a' };

let upstream: FakeOpenAI;
let schema: TestSchema;
let directory: string;
const replicas: App[] = [];

async function startReplica(): Promise<App> {
  const file = join(directory, `replica-${replicas.length}.yaml`);
  writeFileSync(file, `
store: ${schema.url}?schema=${schema.schema}
cache: ${redisUrl}
admin_keys: [ { name: ops, key_env: ADMIN_KEY } ]
providers: [ { name: openai, type: openai, base_url: ${upstream.url} } ]
models: [ { alias: fast, provider: openai, version: ${version}, price: { input_per_mtok: 10, output_per_mtok: 30 } } ]
org:
  name: acme
  departments:
    - name: claims
      keys: [ { name: bot-a, key_env: KEY_A } ]
`);
  const app = await startApp({ configFile: file, environment, host: '127.0.0.1', port: 0 });
  replicas.push(app);
  return app;
}

const admin = (app: App, path: string, method = 'GET', body?: unknown) => fetch(`${app.url}/admin${path}`, {
  method, headers: { authorization: `Bearer ${adminKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
  body: body === undefined ? undefined : JSON.stringify(body),
});

const ask = async (app: App, key: string) => (await fetch(`${app.url}/v1/chat/completions`, {
  method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
  body: JSON.stringify({ model: 'fast', max_tokens: 16, messages: [{ role: 'user', content: 'hello' }] }),
})).status;

beforeAll(async () => {
  upstream = await startFakeOpenAI({ prices: { [version]: { input_per_mtok: 10, output_per_mtok: 30 } }, outputTokens: 10 });
  schema = createTestSchema();
  directory = mkdtempSync(join(tmpdir(), 'covenant-key-refresh-'));
  await Promise.all([startReplica(), startReplica()]);
});

afterAll(() => closeReplicaSet({ replicas, upstream, schema, directory }));

describe('two replicas', () => {
  it('serve a key created on one from the other, apply its edited budgets there, and refuse it there once revoked', async () => {
    const [first, second] = replicas as [App, App];
    const created = await (await admin(first, '/keys', 'POST', { department: 'claims', name: 'worker', budgets: [{ usd: 1, period: 'day' }] })).json();
    await expect.poll(() => ask(second, created.key), { timeout: 3000 }).toBe(200);
    // A budget of one token a day: the next request on the other replica cannot be afforded.
    const edited = await admin(first, `/keys/${created.id}`, 'PATCH', { budgets: [{ tokens: 1, period: 'day' }] });
    expect(edited.status).toBe(200);
    await expect.poll(() => ask(second, created.key), { timeout: 3000 }).toBe(402);
    // The single-key read on the other replica shows the edit at its new revision.
    const read = await admin(second, `/keys/${created.id}`);
    expect(read.headers.get('etag')).toBe(edited.headers.get('etag'));
    expect((await read.json()).budgets).toEqual([{ tokens: 1, period: 'day' }]);
    expect((await admin(first, `/keys/${created.id}`, 'DELETE')).status).toBe(200);
    await expect.poll(() => ask(second, created.key), { timeout: 3000 }).toBe(401);
    // The config key is untouched throughout.
    expect(await ask(second, 'sk-refresh-a')).toBe(200);
  });

  it('read no key in a refresh when none changed, only the changed key when one did, and one key for one key\'s admin routes', async () => {
    const [first, second] = replicas as [App, App];
    const store = second.stores.keys;
    const listed: number[] = [];
    const changes: ChangedKeys[] = [];
    const list = store.list.bind(store);
    const changedSince = store.changedSince.bind(store);
    store.list = async () => {
      const keys = await list();
      listed.push(keys.length);
      return keys;
    };
    store.changedSince = async (after) => {
      const changed = await changedSince(after);
      changes.push(changed);
      return changed;
    };
    try {
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect(changes.length).toBeGreaterThanOrEqual(2);
      expect(changes.every((changed) => changed.keys.length === 0)).toBe(true);
      const created = await (await admin(first, '/keys', 'POST', { department: 'claims', name: 'late' })).json();
      await expect.poll(() => ask(second, created.key), { timeout: 3000 }).toBe(200);
      expect(changes.flatMap((changed) => changed.keys.map((key) => key.id))).toEqual([created.id]);
      // Reading, editing and revoking one key on this replica reads that key, not the list of every key.
      expect((await (await admin(second, `/keys/${created.id}`)).json()).name).toBe('late');
      expect((await admin(second, `/keys/${created.id}`, 'PATCH', { name: 'later' })).status).toBe(200);
      expect((await admin(second, `/keys/${created.id}`, 'DELETE')).status).toBe(200);
      expect(await ask(second, created.key)).toBe(401);
      expect(listed).toEqual([]);
    } finally {
      store.list = list;
      store.changedSince = changedSince;
    }
  });
});
