// The Gemini adapter against the fake Gemini API: JSON, SSE, tool round-trips, usage equal to Google's bill, and upstream failures.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ChatChunk, ChatMessage, ChatRequest, ToolDefinition } from '../src/core/chat-types.js';
import { createGeminiProvider } from '../src/providers/gemini/index.js';
import { eachOf } from './helpers/batches.js';
import type { ProviderAdapter } from '../src/providers/types.js';
import { startFakeGemini, type FakeGemini } from './fakes/gemini.js';

let fake: FakeGemini;
let gemini: ProviderAdapter;
const signal = () => new AbortController().signal;

beforeAll(async () => {
  fake = await startFakeGemini({
    apiKey: 'AIza-test', thoughtsTokens: 7, thoughtSignatures: true,
    prices: { 'gemini-2.5-flash': { input_per_mtok: 0.3, output_per_mtok: 2.5 } },
    modelVersions: { 'gemini-2.5-flash': 'gemini-2.5-flash-preview-05-20' },
  });
  gemini = createGeminiProvider({ name: 'gemini', type: 'gemini', baseUrl: fake.url, apiKey: 'AIza-test', timeoutMs: 2_000 });
});

afterAll(async () => {
  await fake.close();
});

beforeEach(() => {
  fake.reset();
  fake.setBehaviour({});
});

const weather: ToolDefinition = {
  type: 'function',
  function: {
    name: 'get_weather', description: 'Current weather in a city.',
    parameters: { type: 'object', additionalProperties: false, properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } }, required: ['city'] },
  },
};

function chatRequest(content: string, extra: Partial<ChatRequest> = {}): ChatRequest {
  return { model: 'gemini-2.5-flash', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content }], ...extra };
}

async function collect(iterable: AsyncIterable<ChatChunk>): Promise<ChatChunk[]> {
  const chunks: ChatChunk[] = [];
  for await (const chunk of iterable) chunks.push(chunk);
  return chunks;
}

describe('chat', () => {
  it('answers in OpenAI shape, with the usage Google bills (thoughts as output)', async () => {
    const { response, usage, warnings } = await gemini.chat({ request: chatRequest('hello gemini'), signal: signal() });
    expect(response.object).toBe('chat.completion');
    expect(response.model).toBe('gemini-2.5-flash-preview-05-20');
    expect(String(response.choices[0].message.content).startsWith('You said: hello gemini')).toBe(true);
    expect(response.choices[0].finish_reason).toBe('stop');
    expect(warnings).toEqual([]);
    expect(usage?.outputTokens).toBe(16 + 7);
    expect(usage?.reasoningTokens).toBe(7);
    expect(usage?.inputTokens).toBe(fake.bill.inputTokens);
    expect(usage?.outputTokens).toBe(fake.bill.outputTokens);
    expect(fake.bill.byModel['gemini-2.5-flash'].costMicros).toBeGreaterThan(0);
    const sent = fake.requests[0];
    expect(sent.path).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    expect(sent.headers['x-goog-api-key']).toBe('AIza-test');
    expect(sent.body.systemInstruction).toEqual({ parts: [{ text: 'Be brief.' }] });
  });

  it('truncates at max_tokens with finish_reason length', async () => {
    const { response, usage } = await gemini.chat({ request: chatRequest('hello', { max_tokens: 12 }), signal: signal() });
    expect(response.choices[0].finish_reason).toBe('length');
    // 7 thought tokens count within the limit: 5 are left for the answer.
    expect(usage?.outputTokens).toBe(12);
    expect(fake.requests[0].body.generationConfig).toEqual({ maxOutputTokens: 12 });
  });

  it('reports a setting Gemini lacks as a warning, not an error', async () => {
    const { warnings } = await gemini.chat({ request: chatRequest('hi', { logit_bias: { 1: 1 } }), signal: signal() });
    expect(warnings).toEqual(['"logit_bias" is not supported by Gemini and was ignored.']);
  });

  it('answers JSON mode with JSON', async () => {
    const { response } = await gemini.chat({ request: chatRequest('as json', { response_format: { type: 'json_object' } }), signal: signal() });
    expect(JSON.parse(response.choices[0].message.content as string)).toEqual({ reply: 'as json' });
  });

  it('honours stop sequences and n candidates', async () => {
    const { response } = await gemini.chat({ request: chatRequest('alpha beta', { stop: ['beta'], n: 2 }), signal: signal() });
    expect(response.choices.map((choice) => choice.message.content)).toEqual(['You said: alpha ', '[1] You said: alpha ']);
    expect(response.choices.map((choice) => choice.finish_reason)).toEqual(['stop', 'stop']);
  });
});

describe('the fake Gemini API', () => {
  it('rejects fields Gemini does not know, as the real API does', async () => {
    const answer = await fetch(`${fake.url}/v1beta/models/gemini-2.5-flash:generateContent`, {
      method: 'POST', headers: { 'x-goog-api-key': 'AIza-test', 'content-type': 'application/json' },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }], max_tokens: 5 }),
    });
    expect(answer.status).toBe(400);
    expect(await answer.json()).toEqual({ error: { code: 400, message: 'Invalid JSON payload received. Unknown name "max_tokens": Cannot find field.', status: 'INVALID_ARGUMENT' } });
  });
});

describe('stream', () => {
  it('streams the same text as the JSON answer and ends with the usage chunk', async () => {
    const whole = await gemini.chat({ request: chatRequest('stream this'), signal: signal() });
    fake.reset();
    const stream = await gemini.chatStream({ request: chatRequest('stream this', { stream: true }), signal: signal() });
    const chunks = await collect(eachOf(stream.batches));
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe(whole.response.choices[0].message.content);
    expect(chunks.filter((chunk) => chunk.choices[0]?.finish_reason).map((chunk) => chunk.choices[0].finish_reason)).toEqual(['stop']);
    const last = chunks[chunks.length - 1];
    expect(last.choices).toEqual([]);
    expect(last.usage?.completion_tokens).toBe(whole.usage?.outputTokens);
    expect(stream.usage()).toEqual(whole.usage);
    expect(fake.requests[0].path).toBe('/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
  });
});

describe('tools', () => {
  it('round-trips a function call, sending the thought signature back as Gemini 3 requires', async () => {
    const first = await gemini.chat({ request: chatRequest('Lyon', { tools: [weather] }), signal: signal() });
    const message = first.response.choices[0].message;
    expect(first.response.choices[0].finish_reason).toBe('tool_calls');
    const call = message.tool_calls![0];
    expect(call.function.name).toBe('get_weather');
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Lyon', unit: 'celsius' });
    // additionalProperties was stripped: the fake rejects fields outside Gemini's Schema subset.
    expect(fake.requests[0].body.tools[0].functionDeclarations[0].parameters.additionalProperties).toBeUndefined();

    const conversation: ChatMessage[] = [...chatRequest('Lyon').messages, message, { role: 'tool', tool_call_id: call.id, content: '{"temperature": 18}' }];
    const second = await gemini.chat({ request: { model: 'gemini-2.5-flash', messages: conversation, tools: [weather] }, signal: signal() });
    expect(second.response.choices[0].finish_reason).toBe('stop');
    expect(fake.requests[1].body.contents[2]).toEqual({ role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { temperature: 18 } } }] });

    // A client that drops the signature gets Gemini's 400, kept as a 400.
    const unsigned = { ...message, tool_calls: [{ id: call.id, type: 'function' as const, function: call.function }] };
    await expect(gemini.chat({ request: { model: 'gemini-2.5-flash', messages: [...chatRequest('Lyon').messages, unsigned, conversation[3]], tools: [weather] }, signal: signal() }))
      .rejects.toMatchObject({ status: 400, message: expect.stringContaining('thought_signature') });
  });

  it('streams a function call as one tool_calls delta', async () => {
    const stream = await gemini.chatStream({ request: chatRequest('Paris', { tools: [weather], tool_choice: 'required', stream: true }), signal: signal() });
    const chunks = await collect(eachOf(stream.batches));
    const calls = chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []);
    expect(calls).toHaveLength(1);
    expect(calls[0].function?.name).toBe('get_weather');
    expect(JSON.parse(calls[0].function?.arguments ?? '')).toEqual({ city: 'Paris', unit: 'celsius' });
    expect(chunks.find((chunk) => chunk.choices[0]?.finish_reason)?.choices[0].finish_reason).toBe('tool_calls');
    expect(fake.requests[0].body.toolConfig).toEqual({ functionCallingConfig: { mode: 'ANY' } });
  });
});

describe('embeddings', () => {
  it('embeds text through batchEmbedContents', async () => {
    const { response, usage } = await gemini.embed!({ request: { model: 'text-embedding-004', input: ['a', 'b'], dimensions: 16 }, signal: signal() });
    expect(response.data.map((item) => (item.embedding as number[]).length)).toEqual([16, 16]);
    expect(response.data[0].embedding).not.toEqual(response.data[1].embedding);
    expect(usage).toBeUndefined();
    expect(fake.requests[0].body.requests[0]).toEqual({ model: 'models/text-embedding-004', content: { parts: [{ text: 'a' }] }, outputDimensionality: 16 });
  });
});

describe('upstream failures', () => {
  const call = () => gemini.chat({ request: chatRequest('hi'), signal: signal() });

  it('keeps 4xx client errors and the provider message', async () => {
    fake.setBehaviour({ fail: { status: 404, message: 'models/gemini-9 is not found for API version v1beta' } });
    await expect(call()).rejects.toMatchObject({ status: 404, code: 'upstream_error', message: expect.stringContaining('gemini-9 is not found') });
    fake.setBehaviour({ fail: { status: 429, message: 'Resource has been exhausted' } });
    await expect(call()).rejects.toMatchObject({ status: 429 });
  });

  it('turns 5xx into 502 and a wrong key into Gemini\'s 400', async () => {
    fake.setBehaviour({ fail: { status: 503, message: 'The model is overloaded.' } });
    await expect(call()).rejects.toMatchObject({ status: 502, message: expect.stringContaining('overloaded') });
    fake.setBehaviour({});
    const wrongKey = createGeminiProvider({ name: 'gemini', type: 'gemini', baseUrl: fake.url, apiKey: 'AIza-wrong', timeoutMs: 2_000 });
    await expect(wrongKey.chat({ request: chatRequest('hi'), signal: signal() })).rejects.toMatchObject({ status: 400, message: expect.stringContaining('API key not valid') });
  });

  it('turns garbage into 502, for JSON and for streams', async () => {
    fake.setBehaviour({ garbage: true });
    await expect(call()).rejects.toMatchObject({ status: 502, code: 'upstream_error' });
    const stream = await gemini.chatStream({ request: chatRequest('hi', { stream: true }), signal: signal() });
    await expect(collect(eachOf(stream.batches))).rejects.toMatchObject({ status: 502 });
  });

  it('turns a hang into 504 after the timeout', async () => {
    fake.setBehaviour({ hang: true });
    const impatient = createGeminiProvider({ name: 'gemini', type: 'gemini', baseUrl: fake.url, apiKey: 'AIza-test', timeoutMs: 300 });
    const started = performance.now();
    await expect(impatient.chat({ request: chatRequest('hi'), signal: signal() })).rejects.toMatchObject({ status: 504, code: 'upstream_timeout' });
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('fails a stream cut midway with a 502, keeping the usage reported before the cut', async () => {
    fake.setBehaviour({ cutStreamAfter: 2, tokenDelayMs: 5 });
    const stream = await gemini.chatStream({ request: chatRequest('hi', { stream: true }), signal: signal() });
    await expect(collect(eachOf(stream.batches))).rejects.toMatchObject({ status: 502 });
    expect(stream.usage()?.inputTokens).toBe(fake.bill.inputTokens);
    // Google bills the whole generation; the adapter saw 8 of 16 answer tokens (+ 7 thoughts) before the cut.
    expect(stream.usage()?.outputTokens).toBe(8 + 7);
  });
});
