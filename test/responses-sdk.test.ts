// POST /v1/responses through the gateway for every provider type: the official openai SDK and the Vercel AI SDK's default OpenAI provider, JSON and streaming.
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, jsonSchema, stepCountIs, streamText, tool } from 'ai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../src/config/load.js';
import { startFakeAnthropic, type FakeAnthropic } from './fakes/anthropic.js';
import { startFakeGemini, type FakeGemini } from './fakes/gemini.js';
import { startFakeOpenAI, type FakeOpenAI } from './fakes/openai.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const key = 'sk-responses';
const adminKey = 'sk-responses-admin';
let openaiUpstream: FakeOpenAI;
let compatibleUpstream: FakeOpenAI;
let anthropicUpstream: FakeAnthropic;
let geminiUpstream: FakeGemini;
let gateway: TestGateway;
let openai: OpenAI;

beforeAll(async () => {
  openaiUpstream = await startFakeOpenAI({ apiKey: 'sk-up-openai', reasoningTokens: 4, cachedPromptTokens: 2, prices: { 'gpt-4o-mini-2024-07-18': { input_per_mtok: 0.15, output_per_mtok: 0.6 } } });
  compatibleUpstream = await startFakeOpenAI({ prices: { 'meta-llama/Llama-3.3-70B-Instruct': { input_per_mtok: 0.88, output_per_mtok: 0.88 } } });
  anthropicUpstream = await startFakeAnthropic({ apiKey: 'sk-up-anthropic' });
  geminiUpstream = await startFakeGemini({ apiKey: 'sk-up-gemini' });
  gateway = await startTestGateway(`
store: sqlite:{{DB}}
admin_keys: [ { name: ops, key_env: ADMIN_KEY } ]
providers:
  - { name: openai, type: openai, api_key_env: OPENAI_KEY, base_url: ${openaiUpstream.url} }
  - { name: llama, type: openai-compatible, base_url: ${compatibleUpstream.url} }
  - { name: llama-native, type: openai-compatible, base_url: ${compatibleUpstream.url}, responses_api: native }
  - { name: anthropic, type: anthropic, api_key_env: ANTHROPIC_KEY, base_url: ${anthropicUpstream.url} }
  - { name: gemini, type: gemini, api_key_env: GEMINI_KEY, base_url: ${geminiUpstream.url} }
  - { name: mock, type: mock }
models:
  - { alias: openai, provider: openai, version: gpt-4o-mini-2024-07-18 }
  - { alias: llama, provider: llama, version: meta-llama/Llama-3.3-70B-Instruct, price: { input_per_mtok: 0.88, output_per_mtok: 0.88 } }
  - { alias: llama-native, provider: llama-native, version: meta-llama/Llama-3.3-70B-Instruct, price: { input_per_mtok: 0.88, output_per_mtok: 0.88 } }
  - { alias: anthropic, provider: anthropic, version: claude-sonnet-4-20250514, price: { input_per_mtok: 3, output_per_mtok: 15 } }
  - { alias: gemini, provider: gemini, version: gemini-2.0-flash, price: { input_per_mtok: 0.1, output_per_mtok: 0.4 } }
  - { alias: mock, provider: mock, version: mock-1 }
org:
  name: acme
  departments:
    - name: lab
      keys: [ { name: tester, key_env: USER_KEY } ]
`, { USER_KEY: key, ADMIN_KEY: adminKey, OPENAI_KEY: 'sk-up-openai', ANTHROPIC_KEY: 'sk-up-anthropic', GEMINI_KEY: 'sk-up-gemini' });
  openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key, maxRetries: 0 });
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([openaiUpstream?.close(), compatibleUpstream?.close(), anthropicUpstream?.close(), geminiUpstream?.close()]);
});

const weatherTool = {
  type: 'function' as const, name: 'get_weather', description: 'Weather for a city', strict: false,
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

const aiProvider = () => createOpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key });

describe.each(['openai', 'llama', 'anthropic', 'gemini', 'mock'])('POST /v1/responses to alias "%s"', (alias) => {
  it('responses.create answers text with usage, and responses.stream the same text', async () => {
    const response = await openai.responses.create({ model: alias, instructions: 'Be brief.', input: 'hello responses api', max_output_tokens: 60 });
    expect(response.object).toBe('response');
    expect(response.status).toBe('completed');
    expect(response.output_text.length).toBeGreaterThan(0);
    expect(response.usage!.input_tokens).toBeGreaterThan(0);
    expect(response.usage!.output_tokens).toBeGreaterThan(0);
    expect(response.usage!.total_tokens).toBe(response.usage!.input_tokens + response.usage!.output_tokens);

    const stream = openai.responses.stream({ model: alias, instructions: 'Be brief.', input: 'hello responses api', max_output_tokens: 60 });
    const types = new Set<string>();
    let deltas = '';
    let last = -1;
    for await (const event of stream) {
      types.add(event.type);
      expect(event.sequence_number).toBe(last + 1);
      last = event.sequence_number;
      if (event.type === 'response.output_text.delta') deltas += event.delta;
    }
    const final = await stream.finalResponse();
    expect(deltas).toBe(response.output_text);
    expect(final.output_text).toBe(response.output_text);
    expect(final.usage!.output_tokens).toBe(response.usage!.output_tokens);
    for (const type of ['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added',
      'response.output_text.delta', 'response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed']) {
      expect(types, type).toContain(type);
    }
  });

  it('stops at max_output_tokens with status incomplete', async () => {
    // OpenAI's minimum is 16, of which the fake spends 4 on reasoning, short of its natural 16; the others get 5.
    const limit = alias === 'openai' ? 16 : 5;
    const response = await openai.responses.create({ model: alias, input: 'one two three four five six seven eight nine ten', max_output_tokens: limit });
    expect(response.status).toBe('incomplete');
    expect(response.incomplete_details?.reason).toBe('max_output_tokens');
    expect(response.usage!.output_tokens).toBeLessThanOrEqual(limit);
  });

  it('calls a function tool and takes its output back, JSON and stream', async () => {
    const first = await openai.responses.create({
      model: alias, tools: [weatherTool], tool_choice: { type: 'function', name: 'get_weather' }, input: 'get_weather city=Paris',
    });
    const call = first.output.find((item) => item.type === 'function_call');
    expect(call?.type === 'function_call' && call.name).toBe('get_weather');
    expect(() => JSON.parse(call!.type === 'function_call' ? call!.arguments : '')).not.toThrow();
    const stream = openai.responses.stream({
      model: alias, tools: [weatherTool], tool_choice: { type: 'function', name: 'get_weather' }, input: 'get_weather city=Paris',
    });
    let argumentsDone = '';
    for await (const event of stream) if (event.type === 'response.function_call_arguments.done') argumentsDone = event.arguments;
    const streamed = (await stream.finalResponse()).output.find((item) => item.type === 'function_call');
    expect(streamed?.type === 'function_call' && streamed.arguments).toBe(argumentsDone);
    expect(streamed?.type === 'function_call' && streamed.name).toBe('get_weather');

    const second = await openai.responses.create({
      model: alias, tools: [weatherTool], input: [
        { role: 'user', content: 'get_weather city=Paris' },
        { type: 'function_call', call_id: call!.type === 'function_call' ? call!.call_id : '', name: 'get_weather', arguments: call!.type === 'function_call' ? call!.arguments : '{}' },
        { type: 'function_call_output', call_id: call!.type === 'function_call' ? call!.call_id : '', output: '{"temperature": 21}' },
      ],
    });
    expect(second.output_text.length).toBeGreaterThan(0);
  });

  it('honours text.format json_schema (Anthropic: emulated, and said so; the mock: JSON mode)', async () => {
    const { data: response, response: raw } = await openai.responses.create({
      model: alias, input: 'Paris',
      text: { format: { type: 'json_schema', name: 'city', schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false }, strict: true } },
    }).withResponse();
    if (alias === 'anthropic') {
      // Anthropic has no JSON schema mode: the schema goes in a system instruction, which the fake does not follow.
      expect(raw.headers.get('x-covenant-warnings')).toContain('json_schema is emulated for Anthropic');
      return;
    }
    const parsed = JSON.parse(response.output_text) as { city?: unknown };
    // The mock answers JSON in JSON mode, without following a schema.
    if (alias !== 'mock') expect(typeof parsed.city).toBe('string');
  });

  it('serves the Vercel AI SDK default OpenAI provider: generateText, streamText and a tool call', async () => {
    const model = aiProvider()(alias);
    const generated = await generateText({ model, prompt: 'hello from the ai sdk', maxOutputTokens: 60 });
    expect(generated.text.length).toBeGreaterThan(0);
    expect(generated.usage.outputTokens).toBeGreaterThan(0);
    const streamed = streamText({ model, prompt: 'hello from the ai sdk', maxOutputTokens: 60 });
    let text = '';
    for await (const part of streamed.textStream) text += part;
    expect(text).toBe(generated.text);
    expect((await streamed.usage).outputTokens).toBe(generated.usage.outputTokens);
    const called = await generateText({
      model, prompt: 'get_weather city=Paris', toolChoice: { type: 'tool', toolName: 'get_weather' },
      tools: { get_weather: tool({ description: 'Weather for a city', inputSchema: jsonSchema<{ city: string }>({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }) }) },
    });
    expect(called.toolCalls[0]?.toolName).toBe('get_weather');
    // The mock's arguments follow no schema; the fakes fill each property from the prompt.
    if (alias !== 'mock') expect(typeof (called.toolCalls[0]?.input as { city?: unknown }).city).toBe('string');
    const streamedCall = streamText({
      model, prompt: 'get_weather city=Paris', toolChoice: { type: 'tool', toolName: 'get_weather' },
      tools: { get_weather: tool({ description: 'Weather for a city', inputSchema: jsonSchema<{ city: string }>({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }) }) },
    });
    const streamedCalls = await streamedCall.toolCalls;
    expect(streamedCalls[0]?.toolName).toBe('get_weather');
    expect(streamedCalls[0]?.input).toEqual(called.toolCalls[0]?.input);
  });

  it('runs a Vercel AI SDK tool loop: the tool result goes back and the model answers', async () => {
    // The AI SDK refers to earlier items by id (item_reference) unless told store: false; only OpenAI keeps them.
    const result = await generateText({
      model: aiProvider()(alias), prompt: 'get_weather city=Paris', stopWhen: stepCountIs(2),
      providerOptions: { openai: { store: false } },
      tools: { get_weather: tool({ description: 'Weather for a city', inputSchema: jsonSchema<{ city: string }>({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }), execute: async () => ({ temperature: 21 }) }) },
    });
    expect(result.steps.length).toBe(2);
    expect(result.steps[0]!.toolResults[0]?.output).toEqual({ temperature: 21 });
    expect(result.text.length).toBeGreaterThan(0);
  });
});

/** `authorization` '' sends none. */
async function post(body: Record<string, unknown>, authorization = `Bearer ${key}`): Promise<Response> {
  return fetch(`${gateway.url}/v1/responses`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) }, body: JSON.stringify(body),
  });
}

async function requestLog(): Promise<{ id: string; route: string; alias: string; status: number; error_code: string | null; cost_micros: number; tokens: { cached_input: number; reasoning: number } }[]> {
  const response = await fetch(`${gateway.url}/admin/requests?limit=10000`, { headers: { authorization: `Bearer ${adminKey}` } });
  return ((await response.json()) as { data: Awaited<ReturnType<typeof requestLog>> }).data;
}

describe('POST /v1/responses: native to OpenAI, translated elsewhere', () => {
  it('passes the body through to OpenAI\'s own /v1/responses with the pinned version and an output limit, usage with cached and reasoning tokens', async () => {
    openaiUpstream.reset();
    const response = await openai.responses.create({ model: 'openai', input: 'native please', reasoning: { effort: 'low' }, store: false });
    const sent = openaiUpstream.requests.at(-1)!;
    expect(sent.path).toBe('/v1/responses');
    expect(sent.body).toMatchObject({ model: 'gpt-4o-mini-2024-07-18', input: 'native please', reasoning: { effort: 'low' }, store: false });
    // No budget applies and the client set no limit: none is added, as for chat.
    expect(sent.body.max_output_tokens).toBeUndefined();
    expect(response.model).toBe('gpt-4o-mini-2024-07-18');
    expect(response.usage!.output_tokens_details.reasoning_tokens).toBe(4);
    expect(response.usage!.input_tokens_details.cached_tokens).toBe(2);
    const entry = (await requestLog()).find((row) => row.route === 'responses' && row.alias === 'openai')!;
    expect(entry.tokens).toMatchObject({ cached_input: 2, reasoning: 4 });
    expect(entry.cost_micros).toBe(openaiUpstream.bill.costMicros);
  });

  it('lets OpenAI resume a stored response by previous_response_id, JSON and stream', async () => {
    const first = await openai.responses.create({ model: 'openai', input: 'remember Paris' });
    const second = await openai.responses.create({ model: 'openai', input: 'and now?', previous_response_id: first.id });
    expect(second.previous_response_id).toBe(first.id);
    const stream = openai.responses.stream({ model: 'openai', input: 'and now?', previous_response_id: first.id });
    expect((await stream.finalResponse()).previous_response_id).toBe(first.id);
  });

  it('translates for an OpenAI-compatible host: chat messages, reasoning_effort, response_format', async () => {
    compatibleUpstream.reset();
    await openai.responses.create({
      model: 'llama', instructions: 'Be brief.', reasoning: { effort: 'high' },
      input: [{ role: 'developer', content: 'Answer in English.' }, { role: 'user', content: [{ type: 'input_text', text: 'translated please' }] }],
      text: { format: { type: 'json_schema', name: 'answer', schema: { type: 'object', properties: { text: { type: 'string' } } } } },
    });
    const sent = compatibleUpstream.requests.at(-1)!;
    expect(sent.path).toBe('/v1/chat/completions');
    expect(sent.body.messages).toEqual([
      { role: 'system', content: 'Be brief.' }, { role: 'system', content: 'Answer in English.' }, { role: 'user', content: 'translated please' },
    ]);
    expect(sent.body.reasoning_effort).toBe('high');
    expect(sent.body.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object', properties: { text: { type: 'string' } } } } });
  });

  it('passes through to an OpenAI-compatible host whose config says it serves the Responses API (responses_api: native)', async () => {
    compatibleUpstream.reset();
    const response = await openai.responses.create({ model: 'llama-native', input: 'native compatible', max_output_tokens: 30 });
    const sent = compatibleUpstream.requests.at(-1)!;
    expect(sent.path).toBe('/v1/responses');
    expect(sent.body).toMatchObject({ model: 'meta-llama/Llama-3.3-70B-Instruct', input: 'native compatible', max_output_tokens: 30 });
    expect(response.id).toMatch(/^resp_fake/);
    const entry = (await requestLog()).find((row) => row.alias === 'llama-native')!;
    expect(entry.cost_micros).toBe(compatibleUpstream.bill.costMicros);
  });

  it('refuses responses_api on a provider type without a Responses API of its own, naming the field', () => {
    expect(() => parseConfigText(`
providers: [ { name: claude, type: anthropic, responses_api: native } ]
models: []
org: { name: acme, departments: [] }
`, 'covenant.yaml')).toThrow(/responses_api/);
  });

  it.each([false, true])('warns in x-covenant-warnings about what the translation and the provider drop (stream: %s)', async (stream) => {
    const response = await post({ model: 'anthropic', input: 'hello', truncation: 'auto', reasoning: { effort: 'low', summary: 'auto' }, stream });
    expect(response.status).toBe(200);
    await response.text();
    const warnings = response.headers.get('x-covenant-warnings') ?? '';
    expect(warnings).toContain('truncation');
    expect(warnings).toContain('reasoning.summary');
    // reasoning.effort is not dropped: it reaches Anthropic as extended thinking.
    expect(warnings).not.toContain('reasoning_effort');
    expect((anthropicUpstream.requests.at(-1)!.body as { thinking?: unknown }).thinking).toEqual({ type: 'enabled', budget_tokens: 1024 });
  });

  it.each([
    [{ previous_response_id: 'resp_123' }, 'previous_response_id', true],
    [{ store: true }, 'store', true],
    [{ background: true }, 'background', false],
    [{ conversation: 'conv_123' }, 'conversation', true],
    [{ input: [{ type: 'item_reference', id: 'msg_1' }] }, 'input', true],
    [{ tools: [{ type: 'web_search' }] }, 'tools', false],
  ])('refuses %j for a provider other than OpenAI with a 400 naming it, recorded in the ledger', async (fields, param, stored) => {
    for (const alias of ['llama', 'anthropic', 'gemini', 'mock']) {
      const response = await post({ model: alias, input: 'hello', ...fields });
      expect(response.status).toBe(400);
      const body = (await response.json()) as { error: { message: string; type: string; code: string; param: string } };
      expect(body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_request', param });
      expect(body.error.message).toContain(param);
      // Where the state is stored at OpenAI, the message says how to send it instead.
      expect(body.error.message.includes('store = false')).toBe(stored);
      const id = response.headers.get('x-covenant-request-id');
      expect(id).toBeTruthy();
      expect((await requestLog()).find((row) => row.id === id)).toMatchObject({ route: 'responses', status: 400 });
    }
  });

  it('refuses a missing or wrong key with 401 and a bad body with 400, in OpenAI\'s error shape', async () => {
    const missing = await post({ model: 'mock', input: 'hello' }, '');
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('missing_api_key');
    const wrong = await post({ model: 'mock', input: 'hello' }, 'Bearer sk-wrong');
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe('invalid_api_key');
    const bad = await post({ model: 'mock', input: 42 });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { param: string } }).error.param).toBe('input');
    await expect(openai.responses.create({ model: 'no-such-alias', input: 'hello' })).rejects.toMatchObject({ status: 404 });
  });
});

describe('POST /v1/responses: provider failures', () => {
  it('passes OpenAI\'s own refusal through in its status and OpenAI\'s error shape', async () => {
    // OpenAI's minimum output limit is 16.
    const response = await post({ model: 'openai', input: 'hello', max_output_tokens: 10 });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: Record<string, unknown> };
    expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
    expect(String(body.error.message)).toContain('max_output_tokens');
  });

  it.each(['openai', 'anthropic'])('ends a stream the provider cuts off (%s) with an error event, metered at the worst case', async (alias) => {
    const cut = (after: number | undefined) => {
      if (alias === 'openai') openaiUpstream.setBehaviour(after === undefined ? {} : { cutStreamAfter: after });
      else anthropicUpstream.options.cutStreamAfter = after;
    };
    cut(4);
    const billedBefore = openaiUpstream.bill.costMicros;
    try {
      const response = await post({ model: alias, input: 'cut me off please', stream: true, max_output_tokens: 50 });
      expect(response.status).toBe(200);
      const text = await response.text();
      const types = [...text.matchAll(/^event: (.+)$/gm)].map((match) => match[1]);
      expect(types[0]).toBe('response.created');
      expect(types).toContain('error');
      expect(types).not.toContain('response.completed');
      const id = response.headers.get('x-covenant-request-id');
      const entry = (await requestLog()).find((row) => row.id === id)!;
      expect(entry.status).toBe(502);
      // No usage arrived: the worst case is metered, never less than what the provider bills for the cut stream.
      expect(entry.cost_micros).toBeGreaterThan(0);
      expect(entry.cost_micros).toBeGreaterThanOrEqual(openaiUpstream.bill.costMicros - billedBefore);
    } finally {
      cut(undefined);
    }
  });
});
