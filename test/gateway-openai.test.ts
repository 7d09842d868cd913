// The gateway through the official openai SDK against a fake OpenAI upstream: JSON, streams, tools, embeddings, errors, admin.
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from './fakes/openai.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const userKey = 'sk-test-user-1';
const narrowKey = 'sk-test-narrow-1';
const adminKey = 'sk-test-admin-1';

let upstream: FakeOpenAI;
let gateway: TestGateway;
let client: OpenAI;

beforeAll(async () => {
  upstream = await startFakeOpenAI({ apiKey: 'sk-upstream', prices: { 'gpt-4o-mini-2024-07-18': { input_per_mtok: 0.15, output_per_mtok: 0.6 } } });
  gateway = await startTestGateway(`
store: sqlite:{{DB}}
server: { body_limit_bytes: 20000 }
admin_keys: [ { name: ops, key_env: ADMIN_KEY } ]
providers:
  - { name: openai, type: openai, api_key_env: UPSTREAM_KEY, base_url: ${upstream.url} }
  - { name: slow, type: openai, api_key_env: UPSTREAM_KEY, base_url: ${upstream.url}, timeout_ms: 300 }
  - { name: mock, type: mock }
models:
  - { alias: fast, provider: openai, version: gpt-4o-mini-2024-07-18 }
  - { alias: slow, provider: slow, version: gpt-4o-mini-2024-07-18 }
  - { alias: embed, provider: openai, version: text-embedding-3-small }
  - { alias: demo, provider: mock, version: mock-1 }
org:
  name: acme
  departments:
    - name: claims
      keys:
        - { name: triage-bot, key_env: USER_KEY }
        - { name: narrow-bot, key_env: NARROW_KEY, models: [demo] }
`, { ADMIN_KEY: adminKey, USER_KEY: userKey, NARROW_KEY: narrowKey, UPSTREAM_KEY: 'sk-upstream' });
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: userKey, maxRetries: 0 });
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
});

const post = (path: string, body: string, key = userKey, headers: Record<string, string> = {}) =>
  fetch(`${gateway.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers }, body });

describe('chat completions', () => {
  it('sends the pinned version upstream and meters the provider-reported usage', async () => {
    upstream.reset();
    const { data, response } = await client.chat.completions
      .create({ model: 'fast', messages: [{ role: 'user', content: 'Say hello to the auditors' }], max_tokens: 5 })
      .withResponse();
    expect(data.choices[0]!.message.content).toMatch(/You said/);
    expect(data.choices[0]!.finish_reason).toBe('length');
    expect(data.usage!.completion_tokens).toBe(5);
    expect(upstream.requests.at(-1)!.body.model).toBe('gpt-4o-mini-2024-07-18');
    expect(upstream.requests.at(-1)!.headers.authorization).toBe('Bearer sk-upstream');
    expect(response.headers.get('x-covenant-request-id')).toMatch(/^req_/);
    // The cost header equals the provider's own bill for this request.
    const billed = upstream.bill.costMicros;
    expect(response.headers.get('x-covenant-cost-usd')).toBe((billed / 1e6).toFixed(6));
    const log = await (await fetch(`${gateway.url}/admin/requests?limit=1`, { headers: { authorization: `Bearer ${adminKey}` } })).json();
    expect(log.data[0]).toMatchObject({
      key: 'triage-bot', department: 'claims', alias: 'fast', upstream_model: 'gpt-4o-mini-2024-07-18', status: 200,
      tokens: { input: data.usage!.prompt_tokens, output: 5 }, cost_micros: billed,
    });
  });

  it('streams, asks the provider for usage, and hides the usage chunk from a client that did not ask', async () => {
    upstream.reset();
    const stream = await client.chat.completions.create({ model: 'fast', stream: true, messages: [{ role: 'user', content: 'stream please' }], max_tokens: 6 });
    let text = '';
    let sawUsage = false;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage) sawUsage = true;
    }
    expect(text).toMatch(/You said/);
    expect(sawUsage).toBe(false);
    expect(upstream.requests.at(-1)!.body.stream_options).toEqual({ include_usage: true });
    const log = await (await fetch(`${gateway.url}/admin/requests?limit=1`, { headers: { authorization: `Bearer ${adminKey}` } })).json();
    expect(log.data[0].stream).toBe(true);
    expect(log.data[0].tokens.output).toBe(6);
    expect(log.data[0].cost_micros).toBe(upstream.bill.costMicros);
  });

  it('sends a client that did not ask for usage every frame without a usage member, and the rest unchanged', async () => {
    const response = await post('/v1/chat/completions', JSON.stringify({ model: 'fast', stream: true, messages: [{ role: 'user', content: 'wire check' }], max_tokens: 4 }));
    const frames = (await response.text()).split('\n\n').filter((frame) => frame.startsWith('data: '));
    expect(frames.at(-1)).toBe('data: [DONE]');
    const chunks = frames.slice(0, -1).map((frame) => JSON.parse(frame.slice('data: '.length)) as Record<string, unknown>);
    expect(chunks.length).toBeGreaterThanOrEqual(4);
    for (const chunk of chunks) {
      expect(chunk).not.toHaveProperty('usage');
      expect(chunk.model).toBe('gpt-4o-mini-2024-07-18');
      expect(Array.isArray(chunk.choices) && chunk.choices.length).toBe(1);
    }
  });

  it('ends a stream with [DONE] and the cost in the x-covenant-cost-usd trailer', async () => {
    upstream.reset();
    const { body, trailers } = await new Promise<{ body: string; trailers: NodeJS.Dict<string> }>((resolve, reject) => {
      const request = httpRequest(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${userKey}`, 'content-type': 'application/json' } }, (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => { text += chunk; });
        response.on('end', () => resolve({ body: text, trailers: response.trailers }));
        response.on('error', reject);
      });
      request.on('error', reject);
      request.end(JSON.stringify({ model: 'fast', stream: true, messages: [{ role: 'user', content: 'trailer please' }], max_tokens: 4 }));
    });
    expect(body.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(Number(trailers['x-covenant-cost-usd'])).toBeCloseTo(upstream.bill.costMicros / 1_000_000, 9);
  });

  it('records in the ledger the SHA-256 of the exact bytes the client received', async () => {
    const response = await post('/v1/chat/completions', JSON.stringify({ model: 'fast', messages: [{ role: 'user', content: 'exact bytes' }], max_tokens: 5 }));
    const bytes = Buffer.from(await response.arrayBuffer());
    expect(JSON.parse(bytes.toString('utf8')).choices[0].message.content).toMatch(/You said/);
    const requestId = response.headers.get('x-covenant-request-id');
    const listed = await (await fetch(`${gateway.url}/admin/audit/entries?from=0&limit=10000&kind=inference`, { headers: { authorization: `Bearer ${adminKey}` } })).json();
    const entry = (listed.data as { request_id: string; response_sha256: string }[]).find((each) => each.request_id === requestId)!;
    expect(entry.response_sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  it('records in the ledger the SHA-256 of the exact bytes a streaming client received, [DONE] included', async () => {
    const response = await post('/v1/chat/completions', JSON.stringify({ model: 'fast', stream: true, messages: [{ role: 'user', content: 'exact stream bytes' }], max_tokens: 5 }));
    const bytes = Buffer.from(await response.arrayBuffer());
    expect(bytes.toString('utf8').endsWith('data: [DONE]\n\n')).toBe(true);
    const requestId = response.headers.get('x-covenant-request-id');
    const listed = await (await fetch(`${gateway.url}/admin/audit/entries?from=0&limit=10000&kind=inference`, { headers: { authorization: `Bearer ${adminKey}` } })).json();
    const entry = (listed.data as { request_id: string; response_sha256: string }[]).find((each) => each.request_id === requestId)!;
    expect(entry.response_sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  it('passes the usage chunk to a client that asked for it', async () => {
    const stream = await client.chat.completions.create({
      model: 'fast', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'count me' }], max_tokens: 3,
    });
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    expect(usage?.completion_tokens).toBe(3);
  });

  it('meters a stream the client abandons midway', async () => {
    upstream.reset();
    upstream.setBehaviour({ tokenDelayMs: 20 });
    const controller = new AbortController();
    const response = await post('/v1/chat/completions', JSON.stringify({ model: 'fast', stream: true, messages: [{ role: 'user', content: 'long answer' }], max_tokens: 12 }), userKey, {});
    const reader = response.body!.getReader();
    await reader.read();
    await reader.cancel();
    controller.abort();
    // The gateway keeps reading upstream, so the provider's bill and the gateway's record agree.
    await expect.poll(async () => {
      const log = await (await fetch(`${gateway.url}/admin/requests?limit=1`, { headers: { authorization: `Bearer ${adminKey}` } })).json();
      return log.data[0]?.cost_micros === upstream.bill.costMicros && log.data[0]?.tokens.output === 12;
    }, { timeout: 5000 }).toBe(true);
    upstream.setBehaviour({});
  });

  it('meters and records a JSON call whose client leaves before the answer, and keeps serving', async () => {
    upstream.reset();
    upstream.setBehaviour({ latencyMs: 300 });
    const controller = new AbortController();
    const call = fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST', signal: controller.signal,
      headers: { authorization: `Bearer ${userKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'fast', messages: [{ role: 'user', content: 'answer after I leave' }], max_tokens: 7 }),
    });
    // Leave once the provider has the request (it answers 300 ms later), however long the way there took.
    await expect.poll(() => upstream.requests.length, { timeout: 5000 }).toBe(1);
    controller.abort();
    await expect(call).rejects.toThrow();
    // The provider answers (and bills) after the client left: the gateway's record matches that bill.
    await expect.poll(async () => {
      const log = await (await fetch(`${gateway.url}/admin/requests?limit=1`, { headers: { authorization: `Bearer ${adminKey}` } })).json();
      return upstream.bill.costMicros > 0 && log.data[0]?.cost_micros === upstream.bill.costMicros && log.data[0]?.status === 200;
    }, { timeout: 5000 }).toBe(true);
    upstream.setBehaviour({});
    const next = await client.chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'still there?' }] });
    expect(next.choices[0]?.message.content).toBeTruthy();
  });

  it('supports tools, JSON mode, n and stop through the SDK', async () => {
    const tools = await client.chat.completions.create({
      model: 'fast', messages: [{ role: 'user', content: 'weather in Paris' }],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
    });
    expect(tools.choices[0]!.finish_reason).toBe('tool_calls');
    expect(tools.choices[0]!.message.tool_calls![0]!.type === 'function' && tools.choices[0]!.message.tool_calls![0]!.function.name).toBe('get_weather');
    const json = await client.chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'json' }], response_format: { type: 'json_object' } });
    expect(() => JSON.parse(json.choices[0]!.message.content!)).not.toThrow();
    const many = await client.chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'two' }], n: 2, max_tokens: 4 });
    expect(many.choices).toHaveLength(2);
    const stopped = await client.chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'alpha beta gamma' }], stop: ['beta'] });
    expect(stopped.choices[0]!.message.content).not.toContain('beta');
  });

  it('runs on the mock provider with the same SDK', async () => {
    const reply = await client.chat.completions.create({ model: 'demo', messages: [{ role: 'user', content: 'hi mock' }], max_tokens: 4 });
    expect(reply.choices[0]!.message.content).toBe('Mock reply: hi mock');
    expect(reply.usage!.completion_tokens).toBe(4);
  });
});

describe('embeddings and models', () => {
  it('serves embeddings and lists only the aliases a key may use', async () => {
    const embedding = await client.embeddings.create({ model: 'embed', input: ['one', 'two'] });
    expect(embedding.data).toHaveLength(2);
    expect(embedding.usage.prompt_tokens).toBeGreaterThan(0);
    const all = await client.models.list();
    expect(all.data.map((model) => model.id).sort()).toEqual(['demo', 'embed', 'fast', 'slow']);
    const narrow = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: narrowKey, maxRetries: 0 });
    expect((await narrow.models.list()).data.map((model) => model.id)).toEqual(['demo']);
  });
});

describe('errors in OpenAI shape', () => {
  const shape = async (response: Response, status: number, code: string) => {
    expect(response.status).toBe(status);
    const body = await response.json();
    expect(body.error).toMatchObject({ code });
    expect(typeof body.error.message).toBe('string');
    expect(body.error).toHaveProperty('type');
    expect(body.error).toHaveProperty('param');
    return body.error as { message: string; param: string | null };
  };
  const chat = JSON.stringify({ model: 'fast', messages: [{ role: 'user', content: 'x' }] });

  it('401 for a missing or unknown key, 403 for a model the key may not use, 404 for an unknown alias', async () => {
    await shape(await fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', body: chat }), 401, 'missing_api_key');
    await shape(await post('/v1/chat/completions', chat, 'sk-nope'), 401, 'invalid_api_key');
    await shape(await post('/v1/chat/completions', chat, narrowKey), 403, 'model_not_allowed');
    const error = await shape(await post('/v1/chat/completions', JSON.stringify({ model: 'nope', messages: [{ role: 'user', content: 'x' }] })), 404, 'model_not_found');
    expect(error.param).toBe('model');
  });

  it('400 for malformed JSON and for an invalid body, naming the field', async () => {
    await shape(await post('/v1/chat/completions', '{"model": "fast", '), 400, 'invalid_json');
    const error = await shape(await post('/v1/chat/completions', JSON.stringify({ model: 'fast', messages: [{ role: 'user', content: 'x' }], max_tokens: 'ten' })), 400, 'invalid_request');
    expect(error.param).toBe('max_tokens');
    expect(error.message).toContain('max_tokens');
    // A field of the wrong type is told apart from a missing one.
    expect(error.message).toMatch(/expected number, received string/);
    expect(error.message).not.toContain('required');
    const missing = await shape(await post('/v1/chat/completions', JSON.stringify({ model: 'fast' })), 400, 'invalid_request');
    expect(missing.param).toBe('messages');
    expect(missing.message).toContain('"messages": this field is required');
    const nested = await shape(await post('/v1/chat/completions', JSON.stringify({ model: 'fast', messages: [{ content: 'x' }] })), 400, 'invalid_request');
    expect(nested.param).toBe('messages.0.role');
    expect(nested.message).toContain('"messages[0].role": this field is required');
  });

  it('413 for a body over the limit', async () => {
    const big = JSON.stringify({ model: 'fast', messages: [{ role: 'user', content: 'x'.repeat(30_000) }] });
    await shape(await post('/v1/chat/completions', big), 413, 'body_too_large');
  });

  it('keeps the upstream status and message on failure, 502 for garbage, 504 on timeout', async () => {
    upstream.setBehaviour({ fail: { status: 500, message: 'the model is overloaded' } });
    const failedResponse = await post('/v1/chat/completions', chat);
    // A failed call is traceable to its record like a successful one.
    expect(failedResponse.headers.get('x-covenant-request-id')).toMatch(/^req_/);
    const failed = await shape(failedResponse, 502, 'upstream_error');
    expect(failed.message).toContain('the model is overloaded');
    expect(failed.message).toContain('500');
    upstream.setBehaviour({ fail: { status: 400, message: 'context too long' } });
    const rejected = await shape(await post('/v1/chat/completions', chat), 400, 'upstream_error');
    expect(rejected.message).toContain('context too long');
    upstream.setBehaviour({ garbage: true });
    await shape(await post('/v1/chat/completions', chat), 502, 'upstream_error');
    upstream.setBehaviour({ hang: true });
    await shape(await post('/v1/chat/completions', JSON.stringify({ model: 'slow', messages: [{ role: 'user', content: 'x' }] })), 504, 'upstream_timeout');
    upstream.setBehaviour({});
    const after = await post('/v1/chat/completions', chat);
    expect(after.status).toBe(200);
  });

  it('404 in the same shape for an unknown route', async () => {
    await shape(await fetch(`${gateway.url}/v1/nothing`), 404, 'not_found');
  });
});

describe('admin API', () => {
  const admin = (path: string, init: RequestInit = {}) =>
    fetch(`${gateway.url}${path}`, { ...init, headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });

  it('creates a key whose secret is shown once, lists it without the secret, and revokes it at once', async () => {
    const created = await admin('/admin/keys', { method: 'POST', body: JSON.stringify({ department: 'claims', name: 'new-bot', models: ['demo'] }) });
    expect(created.status).toBe(201);
    const key = await created.json();
    expect(key.key).toMatch(/^sk-cov-/);
    const sdk = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key.key, maxRetries: 0 });
    expect((await sdk.chat.completions.create({ model: 'demo', messages: [{ role: 'user', content: 'hi' }] })).choices).toHaveLength(1);
    const listing = await (await admin('/admin/keys')).text();
    expect(listing).toContain('new-bot');
    expect(listing).not.toContain(key.key);
    expect((await admin(`/admin/keys/${key.id}`, { method: 'DELETE' })).status).toBe(200);
    await expect(sdk.chat.completions.create({ model: 'demo', messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({ status: 401 });
  });

  it('refuses admin routes to user keys and rejects unknown fields', async () => {
    expect((await fetch(`${gateway.url}/admin/keys`, { headers: { authorization: `Bearer ${userKey}` } })).status).toBe(401);
    const bad = await admin('/admin/keys', { method: 'POST', body: JSON.stringify({ department: 'claims', name: 'x', budget: [] }) });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.message).toContain('budget');
    const noDepartment = await admin('/admin/keys', { method: 'POST', body: JSON.stringify({ department: 'nowhere', name: 'x' }) });
    expect(noDepartment.status).toBe(400);
  });

  it('exposes Prometheus metrics by alias and department, and a health check', async () => {
    await client.chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'count me' }] });
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(metrics).toMatch(/covenant_requests_total\{alias="fast",department="claims",status="200"\} \d+/);
    expect(metrics).toMatch(/covenant_tokens_total\{alias="fast",department="claims",kind="output"\} \d+/);
    expect(metrics).toContain('covenant_request_duration_seconds_bucket');
    expect(metrics).toContain('covenant_cost_usd_total');
    expect((await (await fetch(`${gateway.url}/healthz`)).json()).status).toBe('ok');
  });
});
