// The Anthropic adapter against the fake Anthropic API: JSON, SSE, tool round trips, usage vs the provider's bill, errors.
import { afterEach, describe, expect, it } from 'vitest';
import type { ChatChunk, ChatRequest } from '../src/core/chat-types.js';
import { CovenantError } from '../src/core/errors.js';
import { createAnthropicProvider } from '../src/providers/anthropic/index.js';
import { eachOf } from './helpers/batches.js';
import type { FakeAnthropicOptions } from './fakes/anthropic.js';
import { fakeApiKey, fakeInputTokens, startFakeAnthropic, type FakeAnthropic } from './fakes/anthropic.js';

const model = 'claude-sonnet-4-20250514';
let fake: FakeAnthropic | undefined;

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function setup(options: FakeAnthropicOptions = {}, timeoutMs = 5_000) {
  fake = await startFakeAnthropic(options);
  const provider = createAnthropicProvider({ name: 'anthropic', type: 'anthropic', baseUrl: fake.url, apiKey: fakeApiKey, timeoutMs });
  return { fake, provider };
}

const signal = () => new AbortController().signal;
const ask = (content: string, extra: Partial<ChatRequest> = {}): ChatRequest => ({ model, messages: [{ role: 'user', content }], ...extra });

async function collect(chunks: AsyncIterable<ChatChunk>): Promise<ChatChunk[]> {
  const all: ChatChunk[] = [];
  for await (const chunk of chunks) all.push(chunk);
  return all;
}

async function rejection(promise: Promise<unknown>): Promise<CovenantError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(CovenantError);
    return error as CovenantError;
  }
  throw new Error('expected a rejection');
}

const weatherTool = { type: 'function' as const, function: { name: 'get_weather', description: 'Current weather',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } };

describe('Anthropic adapter (JSON)', () => {
  it('sends the documented headers and body, and reports the usage the provider billed', async () => {
    const { fake, provider } = await setup();
    const request = ask('tell me about the sea', { messages: [{ role: 'system', content: 'Be kind.' }, { role: 'user', content: 'tell me about the sea' }] });
    const { response, usage, warnings } = await provider.chat({ request, signal: signal() });
    expect(response.choices[0].message.content).toBe('tell me about the sea');
    expect(response.choices[0].finish_reason).toBe('stop');
    expect(response.model).toBe(model);
    expect(warnings).toEqual([]);

    const sent = fake.requests[0];
    expect(sent.path).toBe('/v1/messages');
    expect(sent.headers['x-api-key']).toBe(fakeApiKey);
    expect(sent.headers['anthropic-version']).toBe('2023-06-01');
    expect(sent.body).toEqual({ model, max_tokens: 4096, system: 'Be kind.', messages: [{ role: 'user', content: 'tell me about the sea' }] });

    expect(usage).toEqual({ inputTokens: 7, outputTokens: 5, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 });
    expect(usage?.inputTokens).toBe(fakeInputTokens(sent.body as Record<string, unknown>));
    expect(fake.bill.inputTokens).toBe(usage?.inputTokens);
    expect(fake.bill.outputTokens).toBe(usage?.outputTokens);
    expect(fake.bill.costMicros).toBe(7 * 3 + 5 * 15); // $3 / $15 per Mtok = 3 / 15 micro-dollars a token
  });

  it('stops at max_tokens with finish_reason length', async () => {
    const { provider } = await setup();
    const { response, usage } = await provider.chat({ request: ask('one two three four five six', { max_tokens: 3 }), signal: signal() });
    expect(response.choices[0].message.content).toBe('one two three');
    expect(response.choices[0].finish_reason).toBe('length');
    expect(usage?.outputTokens).toBe(3);
  });

  it('passes stop sequences and maps stop_sequence to stop', async () => {
    const { fake, provider } = await setup();
    const { response } = await provider.chat({ request: ask('alpha beta END gamma', { stop: ['END'] }), signal: signal() });
    expect((fake.requests[0].body as { stop_sequences: string[] }).stop_sequences).toEqual(['END']);
    expect(response.choices[0].message.content).toBe('alpha beta');
    expect(response.choices[0].finish_reason).toBe('stop');
  });

  it('completes a tool-call round trip', async () => {
    const { provider } = await setup();
    const first = await provider.chat({ request: ask('use get_weather city=Paris', { tools: [weatherTool] }), signal: signal() });
    const call = first.response.choices[0].message.tool_calls?.[0];
    expect(first.response.choices[0].finish_reason).toBe('tool_calls');
    expect(call?.function.name).toBe('get_weather');
    expect(JSON.parse(call!.function.arguments)).toEqual({ city: 'Paris' });

    const second = await provider.chat({ request: { model, tools: [weatherTool], messages: [
      { role: 'user', content: 'use get_weather city=Paris' },
      first.response.choices[0].message,
      { role: 'tool', tool_call_id: call!.id, content: 'sunny 18C' },
    ] }, signal: signal() });
    expect(second.response.choices[0].message.content).toBe('Tool result: sunny 18C');
  });

  it('reports prompt-cache reads and writes as parts of the input', async () => {
    const { provider } = await setup({ cacheReadInputTokens: 4, cacheCreationInputTokens: 2 });
    const { usage } = await provider.chat({ request: ask('a b c d e f g h'), signal: signal() });
    expect(usage).toMatchObject({ inputTokens: 8, cachedInputTokens: 4, cacheWriteTokens: 2 });
  });
});

describe('Anthropic adapter (stream)', () => {
  it('streams text as OpenAI chunks with a final usage chunk that matches the bill', async () => {
    const { fake, provider } = await setup();
    const stream = await provider.chatStream({ request: ask('the quick brown fox'), signal: signal() });
    const chunks = await collect(eachOf(stream.batches));
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe('the quick brown fox');
    expect((fake.requests[0].body as { stream: boolean }).stream).toBe(true);
    const last = chunks[chunks.length - 1];
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 4 });
    expect(stream.usage()).toMatchObject({ inputTokens: fake.bill.inputTokens, outputTokens: fake.bill.outputTokens });
  });

  it('streams tool calls whose argument deltas join into the input', async () => {
    const { provider } = await setup();
    const stream = await provider.chatStream({ request: ask('please get_weather city=Rome', { tools: [weatherTool] }), signal: signal() });
    const chunks = await collect(eachOf(stream.batches));
    const calls = chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []);
    expect(calls[0]).toMatchObject({ index: 0, type: 'function', function: { name: 'get_weather' } });
    expect(calls[0].id).toMatch(/^toolu_/);
    expect(JSON.parse(calls.map((call) => call.function?.arguments ?? '').join(''))).toEqual({ city: 'Rome' });
    expect(chunks.find((chunk) => chunk.choices[0]?.finish_reason)?.choices[0].finish_reason).toBe('tool_calls');
  });

  it('stops the provider when the client abandons the stream', async () => {
    const { fake, provider } = await setup({ tokenDelayMs: 10 });
    const words = Array.from({ length: 60 }, (_, index) => `w${index}`).join(' ');
    const stream = await provider.chatStream({ request: ask(words), signal: signal() });
    let seen = 0;
    for await (const chunk of eachOf(stream.batches)) {
      if (chunk.choices[0]?.delta.content) seen += 1;
      if (seen === 3) break;
    }
    // Wait until the fake has stopped answering: had the call not been ended, it would have written all 60 words.
    await fake.idle();
    expect(fake.bill.outputTokens).toBeGreaterThanOrEqual(3);
    expect(fake.bill.outputTokens).toBeLessThan(60);
    expect(stream.usage()?.inputTokens).toBe(60);
  });

  it('surfaces a mid-stream error event as a 502 from the iterator', async () => {
    const { provider } = await setup({ errorMidStream: 5 });
    const stream = await provider.chatStream({ request: ask('one two three four five six'), signal: signal() });
    const error = await rejection(collect(eachOf(stream.batches)));
    expect(error.status).toBe(502);
    expect(error.message).toMatch(/overloaded_error/);
    expect(stream.usage()?.inputTokens).toBe(6);
  });

  it('fails a stream the provider cuts midway', async () => {
    const { provider } = await setup({ cutStreamAfter: 4 });
    const stream = await provider.chatStream({ request: ask('one two three four five six'), signal: signal() });
    const received: string[] = [];
    const error = await rejection((async () => {
      for await (const chunk of eachOf(stream.batches)) received.push(chunk.choices[0]?.delta.content ?? '');
    })());
    expect(received.join('')).toBe('one');
    expect(error.status).toBe(502);
    expect(error.message).toMatch(/broke off the stream/);
  });
});

describe('Anthropic adapter errors', () => {
  it('keeps a 400 from the provider, with its message', async () => {
    const { provider } = await setup({ failWith: { status: 400, message: 'messages: roles must alternate' } });
    const error = await rejection(provider.chat({ request: ask('x'), signal: signal() }));
    expect(error.status).toBe(400);
    expect(error.message).toContain('messages: roles must alternate');
  });

  it('keeps a 429 from the provider', async () => {
    const { provider } = await setup({ failWith: { status: 429, message: 'Number of request tokens has exceeded your rate limit' } });
    const error = await rejection(provider.chatStream({ request: ask('x'), signal: signal() }));
    expect(error.status).toBe(429);
  });

  it('turns a provider 5xx (and 529 overloaded) into a 502 that names the provider status', async () => {
    for (const status of [500, 529]) {
      const { provider } = await setup({ failWith: { status, message: 'Overloaded' } });
      const error = await rejection(provider.chat({ request: ask('x'), signal: signal() }));
      expect(error.status).toBe(502);
      expect(error.message).toContain(`HTTP ${status}: Overloaded`);
      await fake?.close();
      fake = undefined;
    }
  });

  it('reports a wrong API key as an upstream failure with the provider message', async () => {
    fake = await startFakeAnthropic();
    const provider = createAnthropicProvider({ name: 'anthropic', type: 'anthropic', baseUrl: `${fake.url}/v1/`, apiKey: 'wrong', timeoutMs: 5_000 });
    const error = await rejection(provider.chat({ request: ask('x'), signal: signal() }));
    expect(error.message).toContain('HTTP 401: invalid x-api-key');
  });

  it('turns a body that is not JSON into a 502', async () => {
    const { provider } = await setup({ garbage: 'text' });
    const error = await rejection(provider.chat({ request: ask('x'), signal: signal() }));
    expect(error.status).toBe(502);
    expect(error.message).toMatch(/not JSON/);
  });

  it('turns JSON that is not a Message into a 502 that says so', async () => {
    const { provider } = await setup({ garbage: 'shape' });
    const error = await rejection(provider.chat({ request: ask('x'), signal: signal() }));
    expect(error.status).toBe(502);
    expect(error.message).toMatch(/malformed message/);
  });

  it('turns garbage stream data into a 502 from the iterator', async () => {
    const { provider } = await setup({ garbage: 'text' });
    const stream = await provider.chatStream({ request: ask('x'), signal: signal() });
    const error = await rejection(collect(eachOf(stream.batches)));
    expect(error.status).toBe(502);
    expect(error.message).toMatch(/message_start.*not JSON/);
  });

  it('times out a provider that never answers with a 504', async () => {
    const { provider } = await setup({ hang: true }, 200);
    const started = Date.now();
    const error = await rejection(provider.chat({ request: ask('x'), signal: signal() }));
    expect(error.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('refuses n > 1 before calling the provider', async () => {
    const { fake, provider } = await setup();
    const error = await rejection(provider.chat({ request: ask('x', { n: 3 }), signal: signal() }));
    expect(error.status).toBe(400);
    expect(fake.requests).toHaveLength(0);
  });
});
