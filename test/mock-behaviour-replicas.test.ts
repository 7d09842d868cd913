// The mock provider's run-time behaviour on two replicas sharing PostgreSQL: a switch posted to one is served by both
// within a registry refresh, and a reset on the other returns both to the configured behaviour.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type App } from '../src/gateway/app.js';
import { closeReplicaSet } from './helpers/replicas.js';
import { createTestSchema, redisUrl, type TestSchema } from './helpers/services.js';

const environment = { ADMIN_KEY: 'sk-dist-mock-admin', APP_KEY: 'sk-dist-mock-app' };
let schema: TestSchema;
let directory: string;
const replicas: App[] = [];

beforeAll(async () => {
  schema = createTestSchema();
  directory = mkdtempSync(join(tmpdir(), 'covenant-mock-replicas-'));
  const text = `
store: ${schema.url}?schema=${schema.schema}
cache: ${redisUrl}
admin_keys: [ { name: ops, key_env: ADMIN_KEY } ]
providers: [ { name: demo, type: mock } ]
models:
  - { alias: chat, provider: demo, version: mock-1 }
org:
  name: acme
  departments:
    - name: apps
      keys: [ { name: app, key_env: APP_KEY } ]
`;
  for (const index of [0, 1]) {
    const file = join(directory, `replica-${index}.yaml`);
    writeFileSync(file, text);
    replicas.push(await startApp({ configFile: file, environment, host: '127.0.0.1', port: 0 }));
  }
});

afterAll(() => closeReplicaSet({ replicas, schema, directory }));

const ask = (index: number) => new OpenAI({ apiKey: environment.APP_KEY, baseURL: `${replicas[index]!.url}/v1`, maxRetries: 0 })
  .chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hello there' }] });

async function admin(index: number, method: 'GET' | 'POST', body?: unknown) {
  const response = await fetch(`${replicas[index]!.url}/admin/mock/demo`, {
    method, headers: { authorization: `Bearer ${environment.ADMIN_KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, body: await response.json() as any };
}

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

describe('the mock\'s run-time behaviour on two replicas (PostgreSQL)', () => {
  it('serves a switch made on one replica on the other, merges later changes, and resets everywhere', async () => {
    expect((await ask(1)).system_fingerprint).toBe('fp_mock');
    const switched = await admin(0, 'POST', { fingerprint: 'fp_mock_rev2', model: 'mock-1-quantized' });
    expect(switched.body).toMatchObject({ provider: 'demo', fingerprint: 'fp_mock_rev2', model: 'mock-1-quantized' });
    // The replica that got the POST serves it at once; the other within its refresh.
    expect(await ask(0)).toMatchObject({ system_fingerprint: 'fp_mock_rev2', model: 'mock-1-quantized' });
    await eventually(async () => expect(await ask(1)).toMatchObject({ system_fingerprint: 'fp_mock_rev2', model: 'mock-1-quantized' }));
    // A later change on the other replica is merged over the first.
    expect((await admin(1, 'POST', { variant: 'alternate' })).body).toMatchObject({ fingerprint: 'fp_mock_rev2', variant: 'alternate' });
    await eventually(async () => expect((await admin(0, 'GET')).body).toMatchObject({ fingerprint: 'fp_mock_rev2', variant: 'alternate' }));
    expect((await ask(0)).choices[0]!.message.content).toMatch(/^Revised answer:/);
    expect((await admin(1, 'POST', { reset: true })).body).toMatchObject({ fingerprint: null, model: null, variant: null });
    await eventually(async () => expect(await ask(0)).toMatchObject({ system_fingerprint: 'fp_mock', model: 'mock-1' }));
  });
});
