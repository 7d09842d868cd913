// The model registry on PostgreSQL shared by two replicas: a promote or rollback on one is served by the other within its
// refresh, a silent change is reported once, and a block set by one replica is enforced by both until acknowledged.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { APIError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type App } from '../src/gateway/app.js';
import { startFakeOpenAI, type FakeOpenAI } from './fakes/openai.js';
import { closeReplicaSet } from './helpers/replicas.js';
import { createTestSchema, redisUrl, type TestSchema } from './helpers/services.js';

const environment = { ADMIN_KEY: 'sk-dist-models-admin', APP_KEY: 'sk-dist-models-app' };

let upstream: FakeOpenAI;
let schema: TestSchema;
let directory: string;
const replicas: App[] = [];

beforeAll(async () => {
  upstream = await startFakeOpenAI({ countPrompt: 'bytes' });
  schema = createTestSchema();
  directory = mkdtempSync(join(tmpdir(), 'covenant-models-distributed-'));
  const text = `
store: ${schema.url}?schema=${schema.schema}
cache: ${redisUrl}
admin_keys: [ { name: ops, key_env: ADMIN_KEY } ]
providers: [ { name: openai, type: openai, base_url: ${upstream.url} } ]
models:
  - { alias: fast, provider: openai, version: gpt-4o-mini, price: { input_per_mtok: 1, output_per_mtok: 2 } }
  - { alias: guarded, provider: openai, version: gpt-4.1-mini, price: { input_per_mtok: 1, output_per_mtok: 2 }, on_silent_change: block }
org:
  name: acme
  departments:
    - name: apps
      keys: [ { name: app, key_env: APP_KEY } ]
`;
  // One after the other: the first creates the schema and seeds the registry, the second finds it seeded.
  for (const index of [0, 1]) {
    const file = join(directory, `replica-${index}.yaml`);
    writeFileSync(file, text);
    replicas.push(await startApp({ configFile: file, environment, host: '127.0.0.1', port: 0 }));
  }
});

afterAll(() => closeReplicaSet({ replicas, upstream, schema, directory }));

const client = (index: number) => new OpenAI({ apiKey: environment.APP_KEY, baseURL: `${replicas[index]!.url}/v1`, maxRetries: 0 });
const ask = (index: number, model = 'fast') => client(index).chat.completions.create({ model, messages: [{ role: 'user', content: 'hello' }] });

async function admin(index: number, path: string, body: unknown = {}) {
  const response = await fetch(`${replicas[index]!.url}/admin${path}`, {
    method: 'POST', headers: { authorization: `Bearer ${environment.ADMIN_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() as any };
}

/** Poll until `check` passes (replicas refresh from the store about once a second). */
async function eventually(check: () => Promise<void>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

describe('the model registry on two replicas (PostgreSQL)', () => {
  it('serves a version promoted on one replica on the other, and a rollback on the other on the first, without a restart', async () => {
    expect((await ask(1)).model).toBe('gpt-4o-mini');
    expect((await admin(0, '/models/fast/stage', { version: 'gpt-4o' })).status).toBe(200);
    expect((await admin(0, '/models/fast/promote')).body).toMatchObject({ to_version: 'gpt-4o' });
    expect((await ask(0)).model).toBe('gpt-4o');
    await eventually(async () => expect((await ask(1)).model).toBe('gpt-4o'));
    expect((await admin(1, '/models/fast/rollback', { reason: 'regression' })).body).toMatchObject({ from_version: 'gpt-4o', to_version: 'gpt-4o-mini' });
    expect((await ask(1)).model).toBe('gpt-4o-mini');
    await eventually(async () => expect((await ask(0)).model).toBe('gpt-4o-mini'));
    await Promise.all(replicas.map((app) => app.stores.ledger.flush()));
    const seeded = (await replicas[0]!.stores.ledger.entries({ kind: 'model.seeded', limit: 100 })).map((stored) => stored.entry.alias);
    expect(seeded.sort()).toEqual(['fast', 'guarded']);
  });

  it('blocks the alias on both replicas after one of them sees a silent change, until an ack on either', async () => {
    await ask(0, 'guarded');
    await replicas[0]!.models.idle();
    upstream.setIdentity({ fingerprint: 'fp_rotated' });
    try {
      await ask(1, 'guarded');
      await replicas[1]!.models.idle();
      for (const index of [0, 1]) {
        await eventually(async () => {
          const error = await ask(index, 'guarded').catch((caught: unknown) => caught);
          expect(error).toBeInstanceOf(APIError);
          expect((error as APIError).code).toBe('model_version_changed');
        });
      }
      await Promise.all(replicas.map((app) => app.stores.ledger.flush()));
      expect(await replicas[0]!.stores.ledger.entries({ kind: 'model.version_changed', limit: 100 })).toHaveLength(1);
      expect((await admin(1, '/models/guarded/ack')).status).toBe(200);
      await eventually(async () => expect((await ask(0, 'guarded')).model).toBe('gpt-4.1-mini'));
    } finally {
      upstream.setIdentity({ fingerprint: 'fp_covenant_fake' });
    }
  });
});
