// Rate limits in distributed mode: three gateway replicas on one PostgreSQL schema and one Redis admit together exactly
// the configured rate (never rate × replicas), and refuse (503) rather than serve unlimited when Redis goes away.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type App } from '../src/gateway/app.js';
import { startFakeOpenAI, type FakeOpenAI } from './fakes/openai.js';
import { closeReplicaSet } from './helpers/replicas.js';
import { createTestSchema, redisUrl, startTcpProxy, type TcpProxy, type TestSchema } from './helpers/services.js';

const version = 'gpt-4o-mini-2024-07-18';
const environment = { ADMIN_KEY: 'sk-rate-admin', KEY_A: 'sk-rate-a', KEY_B: 'sk-rate-b', KEY_C: 'sk-rate-c' };
const rpm = 25;

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
models: [ { alias: fast, provider: openai, version: ${version}, price: { input_per_mtok: 10, output_per_mtok: 30 } } ]
org:
  name: acme
  departments:
    - name: claims
      user_rate_limit: { rpm: 4 }
      keys:
        - { name: bot-a, key_env: KEY_A, rate_limit: { rpm: ${rpm} } }
        - { name: bot-b, key_env: KEY_B, rate_limit: { concurrent: 3 } }
        - { name: bot-c, key_env: KEY_C }
`;
}

/** One client per replica and key (the SDK client is not free to build: 75 of them would load the test's own event loop). */
const clients = new Map<string, OpenAI>();
function client(app: App, key: string): OpenAI {
  let found = clients.get(`${app.url} ${key}`);
  if (!found) {
    found = new OpenAI({ apiKey: key, baseURL: `${app.url}/v1`, maxRetries: 0 });
    clients.set(`${app.url} ${key}`, found);
  }
  return found;
}
/** 200, 429, or the unexpected status with its message (so a failure shows why). */
const status = (call: Promise<unknown>) => call.then(() => 200 as const, (error: { status?: number; message?: string }) => (
  error.status === 429 ? 429 as const : `${error.status ?? 'no status'}: ${error.message}`));
const ask = (app: App, key: string, user?: string) => status(client(app, key).chat.completions.create(
  { model: 'fast', max_tokens: 16, messages: [{ role: 'user', content: 'Is this claim covered?' }], ...(user ? { user } : {}) },
));

beforeAll(async () => {
  upstream = await startFakeOpenAI({ behaviour: { latencyMs: 5 } });
  schema = createTestSchema();
  directory = mkdtempSync(join(tmpdir(), 'covenant-rate-'));
  proxy = await startTcpProxy(Number(new URL(redisUrl).port || 6379), new URL(redisUrl).hostname);
  const cache = `redis://127.0.0.1:${proxy.port}`;
  for (let index = 0; index < 3; index++) writeFileSync(join(directory, `replica-${index}.yaml`), configText(cache));
  replicas.push(...await Promise.all([0, 1, 2].map((index) => startApp({ configFile: join(directory, `replica-${index}.yaml`), environment, host: '127.0.0.1', port: 0 }))));
  // One request per replica first: the fake provider loads its tokenizer on its first request, which blocks this
  // process's event loop for longer than a Redis command may take (the burst below would be refused with 503).
  for (const app of replicas) expect(await ask(app, 'sk-rate-c', 'warm-up')).toBe(200);
  upstream.reset();
});

afterAll(() => closeReplicaSet({ replicas, proxy, upstream, schema, directory }));

describe('three replicas on Redis', () => {
  it('admit together exactly the configured rpm of a key, however the requests are spread', async () => {
    const billedBefore = upstream.bill.requests;
    const statuses = await Promise.all(Array.from({ length: rpm * 3 }, (_, index) => ask(replicas[index % 3]!, 'sk-rate-a')));
    expect(statuses.filter((each) => each !== 200 && each !== 429)).toEqual([]);
    expect(statuses.filter((each) => each === 200)).toHaveLength(rpm);
    expect(upstream.bill.requests - billedBefore).toBe(rpm);
    // Still full, whichever replica is asked.
    for (const app of replicas) expect(await ask(app, 'sk-rate-a')).toBe(429);
  });

  it('share one count of requests in flight and of each end user', async () => {
    upstream.setBehaviour({ latencyMs: 400 });
    try {
      const inFlight = await Promise.all(Array.from({ length: 9 }, (_, index) => ask(replicas[index % 3]!, 'sk-rate-b')));
      expect(inFlight.filter((each) => each === 200)).toHaveLength(3);
    } finally {
      upstream.setBehaviour({ latencyMs: 5 });
    }
    const users = await Promise.all(Array.from({ length: 12 }, (_, index) => ask(replicas[index % 3]!, 'sk-rate-c', index % 2 === 0 ? 'alice' : 'bob')));
    expect(users.filter((each) => each === 200)).toHaveLength(8);
  });

  it('refuse with 503 rather than serve unlimited while Redis is unreachable', async () => {
    await proxy.stop();
    try {
      const refused = await new OpenAI({ apiKey: 'sk-rate-c', baseURL: `${replicas[1]!.url}/v1`, maxRetries: 0 }).chat.completions.create({ model: 'fast', user: 'carol', messages: [{ role: 'user', content: 'hi' }] }).catch((error) => error);
      expect(refused.status).toBe(503);
      expect(refused.code).toBe('rate_limit_store_unavailable');
    } finally {
      await proxy.start();
      // The replicas' Redis clients reconnect with a back-off: the test is over once every replica serves again, so
      // the tests after it (in any order) start from a reachable Redis.
      for (const app of replicas) await untilServing(app);
    }
  });
});

/** Ask with a fresh end user (under no rate limit yet) until the replica answers 200, for at most 15 s. */
async function untilServing(app: App): Promise<void> {
  for (let attempt = 0; attempt < 150; attempt++) {
    if (await ask(app, 'sk-rate-c', `reconnect-${attempt}`) === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${app.url} did not serve again within 15 s of Redis coming back`);
}
