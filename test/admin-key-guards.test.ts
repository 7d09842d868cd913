// Keys made by POST /admin/keys take the guards a config key takes (rate limit, staging on the mock, agent policy),
// validated by the same schemas, listed, on the ledger, and applied through the whole gateway with the official openai client.
import OpenAI from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from './fakes/openai.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const price = { input_per_mtok: 10, output_per_mtok: 30 };
const version = 'gpt-4o-mini-2024-07-18';
const adminKey = 'sk-key-guards-admin';

let upstream: FakeOpenAI;
let gateway: TestGateway;

// No config key, department or model sets a guard: the stages an API key needs are built when it is created.
beforeEach(async () => {
  upstream = await startFakeOpenAI({ prices: { [version]: price } });
  gateway = await startTestGateway(`
store: sqlite:{{DB}}
admin_keys: [ { name: ops, key_env: ADMIN_KEY } ]
providers: [ { name: openai, type: openai, base_url: ${upstream.url} } ]
models: [ { alias: fast, provider: openai, version: ${version}, price: { input_per_mtok: ${price.input_per_mtok}, output_per_mtok: ${price.output_per_mtok} } } ]
org:
  name: acme
  departments:
    - name: claims
      budgets: [ { usd: 1, period: day } ]
`, { ADMIN_KEY: adminKey });
});

afterEach(async () => {
  await gateway.stop();
  await upstream.close();
});

async function admin(path: string, body?: unknown) {
  const response = await fetch(`${gateway.url}/admin${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${adminKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() as any };
}

async function createKey(fields: Record<string, unknown>): Promise<string> {
  const created = await admin('/keys', { department: 'claims', ...fields });
  expect(created.status).toBe(201);
  return created.body.key as string;
}

const client = (key: string, headers: Record<string, string> = {}) => new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0, defaultHeaders: headers });
const ask = (key: string, content = 'Is this claim covered?', headers: Record<string, string> = {}) =>
  client(key, headers).chat.completions.create({ model: 'fast', messages: [{ role: 'user', content }] });
const failure = (call: Promise<unknown>) => call.then(() => undefined, (error: unknown) => error as InstanceType<typeof OpenAI.APIError>);

async function entries(): Promise<Record<string, any>[]> {
  await gateway.stores.ledger.flush();
  return (await gateway.stores.ledger.entries({ limit: 1000 })).map((stored) => stored.entry as Record<string, any>);
}

describe('guards on keys made by POST /admin/keys', () => {
  it('refuses the third request of a key with rate_limit rpm 2 (429), lists the limit and records it on key.created', async () => {
    const secret = await createKey({ name: 'limited', rate_limit: { rpm: 2 } });
    const other = await createKey({ name: 'free' });
    await ask(secret);
    await ask(secret);
    const refused = await failure(ask(secret));
    expect(refused?.status).toBe(429);
    expect(refused?.code).toBe('rate_limit_exceeded');
    expect(refused?.message).toContain('rpm 2');
    // A key without a limit is untouched.
    for (let index = 0; index < 4; index++) expect((await ask(other)).choices).toHaveLength(1);
    const listed = (await admin('/keys')).body.data.find((key: { name: string }) => key.name === 'limited');
    expect(listed).toMatchObject({ source: 'api', rate_limit: { rpm: 2 } });
    const created = (await entries()).find((entry) => entry.kind === 'key.created' && entry.key === 'limited');
    expect(created?.policy).toEqual({ rate_limit: { rpm: 2 } });
    expect((await entries()).find((entry) => entry.kind === 'key.created' && entry.key === 'free')?.policy).toBeUndefined();
  });

  it('answers a staging key routed to the mock at cost 0, without calling the provider', async () => {
    const secret = await createKey({ name: 'ci', environment: 'staging', route: 'mock' });
    const raw = await client(secret).chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'regression case' }] }).withResponse();
    expect(raw.data.choices[0]!.message.content).toBeTruthy();
    expect(raw.response.headers.get('x-covenant-cost-usd')).toBe('0.000000');
    expect(upstream.requests).toHaveLength(0);
    const entry = (await entries()).find((stored) => stored.kind === 'inference' && stored.key === 'ci');
    expect(entry).toMatchObject({ provider: 'covenant-mock', cost_usd_micros: 0 });
  });

  it('suspends the session of a key with agent max_steps 2 on its third step', async () => {
    const secret = await createKey({ name: 'agent', agent: { max_steps: 2 } });
    const headers = { 'x-covenant-session': 'api-agent-run' };
    await ask(secret, 'step 1', headers);
    await ask(secret, 'step 2', headers);
    const refused = await failure(ask(secret, 'step 3', headers));
    expect(refused?.status).toBe(403);
    expect(refused?.code).toBe('agent_session_suspended');
    expect(refused?.message).toContain('max_steps');
    const sessions = (await admin('/sessions')).body.data;
    expect(sessions).toEqual([expect.objectContaining({ key: 'agent', policy: 'max_steps', label: 'api-agent-run' })]);
  });

  it('rejects invalid guard fields with 400 naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ rate_limit: { rpm: 0 } }, 'rate_limit.rpm'],
      [{ rate_limit: {} }, 'rate_limit'],
      [{ limits: { max_prompt_tokens: -1 } }, 'limits.max_prompt_tokens'],
      [{ agent: { max_duration: 'forever' } }, 'agent.max_duration'],
      [{ agent: {} }, 'agent'],
      [{ environment: 'qa' }, 'environment'],
      [{ route: 'mock' }, 'route'],
      [{ rate_limit: { rpm: 2, per_hour: 3 } }, 'rate_limit'],
    ];
    for (const [fields, param] of cases) {
      const response = await admin('/keys', { department: 'claims', name: 'bad', ...fields });
      expect(response.status, JSON.stringify(fields)).toBe(400);
      expect(response.body.error.param, JSON.stringify(fields)).toBe(param);
      expect(response.body.error.message).toContain(`"${param}`);
    }
    expect((await admin('/keys')).body.data).toHaveLength(0);
  });
});
