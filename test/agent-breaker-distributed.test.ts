// The agent-loop breaker on Redis + PostgreSQL: three replicas share each session, so concurrent steps spread over them
// admit exactly max_steps, one suspension is recorded, every replica refuses, and a resume on one frees it on all.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { APIError } from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type App } from '../src/gateway/app.js';
import { startFakeOpenAI, type FakeOpenAI } from './fakes/openai.js';
import { closeReplicaSet } from './helpers/replicas.js';
import { createTestSchema, redisUrl, startTcpProxy, type TcpProxy, type TestSchema } from './helpers/services.js';

const version = 'gpt-4o-mini-2024-07-18';
const adminKey = 'sk-dist-agent-admin';
const environment = { ADMIN_KEY: adminKey, KEY_AGENT: 'sk-dist-agent', KEY_SPEND: 'sk-dist-spend' };

let upstream: FakeOpenAI;
let schema: TestSchema;
let directory: string;
let proxy: TcpProxy;
let text: string;
const replicas: App[] = [];

beforeAll(async () => {
  upstream = await startFakeOpenAI({ prices: { [version]: { input_per_mtok: 10, output_per_mtok: 30 } }, outputTokens: 20, behaviour: { latencyMs: 5 } });
  schema = createTestSchema();
  directory = mkdtempSync(join(tmpdir(), 'covenant-agent-distributed-'));
  proxy = await startTcpProxy(Number(new URL(redisUrl).port || 6379), new URL(redisUrl).hostname);
  text = `
store: ${schema.url}?schema=${schema.schema}
cache: ${redisUrl}
admin_keys: [ { name: ops, key_env: ADMIN_KEY } ]
providers: [ { name: openai, type: openai, base_url: ${upstream.url} } ]
models: [ { alias: fast, provider: openai, version: ${version}, price: { input_per_mtok: 10, output_per_mtok: 30 } } ]
org:
  name: acme
  departments:
    - name: claims
      agent: { max_steps: 12, max_repeated_tool_calls: 3 }
      keys:
        - { name: agent-bot, key_env: KEY_AGENT }
        - { name: spender, key_env: KEY_SPEND, agent: { max_session_usd: 0.004 } }
`;
  await Promise.all([0, 1, 2].map(async (index) => {
    const file = join(directory, `replica-${index}.yaml`);
    writeFileSync(file, text);
    replicas.push(await startApp({ configFile: file, environment, host: '127.0.0.1', port: 0 }));
  }));
});

afterAll(() => closeReplicaSet({ replicas, proxy, upstream, schema, directory }));

/** The replicas' keys live under covenant:<schema>:, which the test's own schema makes unique. */

const client = (index: number, key: string, session?: string) => new OpenAI({
  apiKey: key, baseURL: `${replicas[index % 3]!.url}/v1`, maxRetries: 0, defaultHeaders: session ? { 'x-covenant-session': session } : {},
});

async function entries(kind: string) {
  const ledger = replicas[0]!.stores.ledger;
  await Promise.all(replicas.map((app) => app.stores.ledger.flush()));
  return (await ledger.entries({ kind, limit: 1000 })).map((stored) => stored.entry);
}

describe('the agent-loop breaker on three replicas (Redis + PostgreSQL)', () => {
  it('admits exactly max_steps of concurrent steps spread over the replicas, and every replica refuses afterwards', async () => {
    const before = upstream.bill.requests;
    const outcomes = await Promise.all(Array.from({ length: 45 }, (_, index) => client(index, environment.KEY_AGENT, 'swarm').chat.completions.create({
      model: 'fast', messages: [{ role: 'user', content: `step ${index}` }],
    }).then(() => 200, (error: APIError) => error.status)));
    expect(outcomes.filter((status) => status !== 200 && status !== 403)).toEqual([]);
    expect(outcomes.filter((status) => status === 200)).toHaveLength(12);
    expect(outcomes.filter((status) => status === 403)).toHaveLength(33);
    expect(upstream.bill.requests - before).toBe(12);
    const suspended = (await entries('session.suspended')).filter((entry) => entry.session_header === 'swarm');
    expect(suspended).toEqual([expect.objectContaining({ policy: 'max_steps', count: 13, limit: 12, steps: 12 })]);
    const session = suspended[0]!.session as string;
    for (let index = 0; index < 3; index += 1) {
      const error = await client(index, environment.KEY_AGENT, 'swarm').chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'more' }] }).catch((caught) => caught as APIError);
      expect(error.code).toBe('agent_session_suspended');
    }

    // Listed by every replica; resumed on one, free again on another.
    const listed = await (await fetch(`${replicas[1]!.url}/admin/sessions`, { headers: { authorization: `Bearer ${adminKey}` } })).json() as { data: { session: string }[] };
    expect(listed.data.map((entry) => entry.session)).toContain(session);
    const resumed = await fetch(`${replicas[1]!.url}/admin/sessions/${session}/resume`, {
      method: 'POST', headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'swarm reviewed' }),
    });
    expect(resumed.status).toBe(200);
    const after = await client(2, environment.KEY_AGENT, 'swarm').chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'resumed' }] });
    expect(after.choices).toHaveLength(1);
    expect(await entries('session.resumed')).toEqual([expect.objectContaining({ session, by: 'ops', reason: 'swarm reviewed' })]);
  });

  it('stops a runaway tool loop whose steps land on different replicas, and keeps the session spend under its cap', async () => {
    const messages: ChatCompletionMessageParam[] = [{ role: 'system', content: 'Agent.' }, { role: 'user', content: 'Poll the claim.' }];
    const tools = [{ type: 'function' as const, function: { name: 'poll', parameters: { type: 'object', properties: { claim: { type: 'string' } } } } }];
    let steps = 0;
    let error: APIError | undefined;
    while (!error && steps < 50) {
      try {
        const completion = await client(steps, environment.KEY_AGENT).chat.completions.create({ model: 'fast', messages, tools, tool_choice: 'required' });
        const message = completion.choices[0]!.message;
        messages.push({ role: 'assistant', content: null, tool_calls: message.tool_calls }, { role: 'tool', tool_call_id: message.tool_calls![0]!.id, content: 'pending' });
        steps += 1;
      } catch (caught) {
        error = caught as APIError;
      }
    }
    expect(steps).toBe(4);
    expect(error?.message).toMatch(/max_repeated_tool_calls: the tool "poll" was called 4 times/);

    const bill = upstream.bill.costMicros;
    const outcomes = await Promise.all(Array.from({ length: 30 }, (_, index) => client(index, environment.KEY_SPEND, 'spendy').chat.completions.create({
      model: 'fast', max_tokens: 20, messages: [{ role: 'user', content: `spend ${index}` }],
    }).then(() => 200, (caught: APIError) => caught.status)));
    expect(outcomes.filter((status) => status === 200).length).toBeGreaterThan(2);
    expect(outcomes.filter((status) => status === 403).length).toBeGreaterThan(0);
    expect(upstream.bill.costMicros - bill).toBeLessThanOrEqual(4_000);
  });
});

describe('the agent-loop breaker without its session store', () => {
  it('refuses (503) rather than serve an agent step it cannot count, and serves again once Redis is back', async () => {
    const file = join(directory, 'replica-proxied.yaml');
    writeFileSync(file, text.replace(`cache: ${redisUrl}`, `cache: redis://127.0.0.1:${proxy.port}`));
    const app = await startApp({ configFile: file, environment, host: '127.0.0.1', port: 0 });
    replicas.push(app);
    const openai = new OpenAI({ apiKey: environment.KEY_AGENT, baseURL: `${app.url}/v1`, maxRetries: 0, defaultHeaders: { 'x-covenant-session': 'offline' } });
    await openai.chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'before' }] });
    await proxy.stop();
    const before = upstream.bill.requests;
    const error = await openai.chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'during' }] }).catch((caught) => caught as APIError);
    expect(error.status).toBe(503);
    expect(error.code).toBe('session_store_unavailable');
    expect(upstream.bill.requests).toBe(before);
    await proxy.start();
    let answered = false;
    for (let attempt = 0; attempt < 50 && !answered; attempt += 1) {
      answered = await openai.chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'after' }] }).then(() => true, () => false);
      if (!answered) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(answered).toBe(true);
  });
});
