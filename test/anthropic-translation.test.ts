// Anthropic adapter's pure mappers: OpenAI request -> Anthropic request, Anthropic Message / SSE -> OpenAI shapes (fixtures).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ChatChunk, ChatRequest } from '../src/core/chat-types.js';
import { CovenantError } from '../src/core/errors.js';
import { anthropicMessageSchema, parseWire } from '../src/providers/anthropic/anthropic-api-schema.js';
import { convertToAnthropicRequest, defaultMaxTokens } from '../src/providers/anthropic/convert-to-anthropic-request.js';
import { mapAnthropicResponse, mapAnthropicStopReason } from '../src/providers/anthropic/map-anthropic-response.js';
import { AnthropicStreamMapper } from '../src/providers/anthropic/map-anthropic-stream.js';
import { SseParser } from '../src/providers/sse.js';

const fixtures = new URL('./fixtures/anthropic/', import.meta.url);
const fixture = (name: string) => readFileSync(new URL(name, fixtures), 'utf8');

function thrown(action: () => unknown): CovenantError {
  try {
    action();
  } catch (error) {
    if (error instanceof CovenantError) return error;
    throw error;
  }
  throw new Error('expected a CovenantError');
}

async function streamFixture(name: string): Promise<{ chunks: ChatChunk[]; mapper: AnthropicStreamMapper; error?: CovenantError }> {
  const parser = new SseParser();
  const messages = [...parser.push(fixture(name)), ...parser.end()];
  // One batch, as when one read of the body holds the whole stream: an error event midway still lets the chunks
  // before it out.
  async function* events() { yield messages; }
  const mapper = new AnthropicStreamMapper('anthropic', 1_700_000_000);
  const chunks: ChatChunk[] = [];
  try {
    for await (const batch of mapper.map(events())) chunks.push(...batch);
  } catch (error) {
    return { chunks, mapper, error: error as CovenantError };
  }
  return { chunks, mapper };
}

describe('convertToAnthropicRequest', () => {
  it('moves system and developer messages to `system` and defaults max_tokens', () => {
    const request: ChatRequest = { model: 'claude-x', messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'developer', content: 'Answer in French.' },
      { role: 'user', content: 'Hello' },
    ] };
    const { body, warnings } = convertToAnthropicRequest(request, false);
    expect(body).toEqual({
      model: 'claude-x', max_tokens: defaultMaxTokens,
      system: [{ type: 'text', text: 'Be brief.' }, { type: 'text', text: 'Answer in French.' }],
      messages: [{ role: 'user', content: 'Hello' }],
    });
    expect(warnings).toEqual([]);
  });

  it('prefers max_completion_tokens, maps stop, temperature, top_p, user and stream', () => {
    const { body } = convertToAnthropicRequest({ model: 'm', messages: [{ role: 'user', content: 'x' }],
      max_tokens: 50, max_completion_tokens: 20, stop: 'END', temperature: 0.5, top_p: 0.9, user: 'u-1' }, true);
    expect(body).toMatchObject({ max_tokens: 20, stop_sequences: ['END'], temperature: 0.5, top_p: 0.9,
      metadata: { user_id: 'u-1' }, stream: true });
    expect('system' in body).toBe(false);
  });

  it('turns a tool-call round trip into tool_use and tool_result blocks, merging consecutive turns', () => {
    const request: ChatRequest = { model: 'm', messages: [
      { role: 'user', content: 'Weather in Paris and Rome?' },
      { role: 'assistant', content: 'Checking.', tool_calls: [
        { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
        { id: 'call_2', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
      ] },
      { role: 'tool', tool_call_id: 'call_1', content: '18C' },
      { role: 'tool', tool_call_id: 'call_2', content: [{ type: 'text', text: '24C' }] },
      { role: 'user', content: 'Which is warmer?' },
    ] };
    const { body } = convertToAnthropicRequest(request, false);
    expect(body.messages).toEqual([
      { role: 'user', content: 'Weather in Paris and Rome?' },
      { role: 'assistant', content: [
        { type: 'text', text: 'Checking.' },
        { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
        { type: 'tool_use', id: 'call_2', name: 'get_weather', input: { city: 'Rome' } },
      ] },
      { role: 'user', content: [
        { type: 'tool_result', tool_use_id: 'call_1', content: '18C' },
        { type: 'tool_result', tool_use_id: 'call_2', content: '24C' },
        { type: 'text', text: 'Which is warmer?' },
      ] },
    ]);
  });

  it('maps images: data URLs to base64 sources, http URLs to url sources', () => {
    const { body } = convertToAnthropicRequest({ model: 'm', messages: [{ role: 'user', content: [
      { type: 'text', text: 'Compare' },
      { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
      { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
    ] }] }, false);
    expect(body.messages[0].content).toEqual([
      { type: 'text', text: 'Compare' },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
      { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
    ]);
  });

  it('maps tools and every tool_choice form', () => {
    const tools = [{ type: 'function' as const, function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
    const convert = (tool_choice: unknown, parallel?: boolean) => convertToAnthropicRequest(
      { model: 'm', messages: [{ role: 'user', content: 'x' }], tools, tool_choice, ...(parallel === false ? { parallel_tool_calls: false } : {}) }, false).body;
    expect(convert(undefined).tools).toEqual([{ name: 'get_weather', description: 'Weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }]);
    expect(convert(undefined).tool_choice).toBeUndefined();
    expect(convert('auto').tool_choice).toEqual({ type: 'auto' });
    expect(convert('required').tool_choice).toEqual({ type: 'any' });
    expect(convert('none').tool_choice).toEqual({ type: 'none' });
    expect(convert({ type: 'function', function: { name: 'get_weather' } }).tool_choice).toEqual({ type: 'tool', name: 'get_weather' });
    expect(convert(undefined, false).tool_choice).toEqual({ type: 'auto', disable_parallel_tool_use: true });
  });

  it('emulates JSON mode with a system instruction and says so in a warning', () => {
    const { body, warnings } = convertToAnthropicRequest({ model: 'm', messages: [{ role: 'user', content: 'x' }],
      response_format: { type: 'json_object' } }, false);
    expect(body.system).toMatch(/JSON object/);
    expect(warnings.join(' ')).toMatch(/json_object/);
  });

  it('warns about settings Anthropic lacks and clamps temperature to 1', () => {
    const { body, warnings } = convertToAnthropicRequest({ model: 'm', messages: [{ role: 'user', content: 'x' }],
      temperature: 1.5, seed: 7, presence_penalty: 0.2, logprobs: false }, false);
    expect(body.temperature).toBe(1);
    expect(warnings).toHaveLength(3);
    expect(warnings.join(' ')).toMatch(/seed/);
  });

  it('refuses n > 1 with a 400 naming the field', () => {
    const error = thrown(() => convertToAnthropicRequest({ model: 'm', messages: [{ role: 'user', content: 'x' }], n: 2 }, false));
    expect(error.code).toBe('upstream_unsupported');
    expect(error.status).toBe(400);
    expect(error.param).toBe('n');
  });

  it('refuses tool arguments that are not a JSON object, naming where', () => {
    const error = thrown(() => convertToAnthropicRequest({ model: 'm', messages: [
      { role: 'user', content: 'x' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '[1,2]' } }] },
    ] }, false));
    expect(error.status).toBe(400);
    expect(error.param).toBe('messages[1].tool_calls[0].function.arguments');
  });
});

describe('mapAnthropicResponse', () => {
  it('maps a text reply (fixture) to an OpenAI chat completion', () => {
    const message = parseWire(anthropicMessageSchema, JSON.parse(fixture('message-text.json')), 'anthropic', 'message');
    const { response, usage } = mapAnthropicResponse(message, 1_700_000_000);
    expect(response).toMatchObject({
      id: 'msg_013Zva2CMHLNnXjNJJKqJ2EF', object: 'chat.completion', created: 1_700_000_000, model: 'claude-sonnet-4-20250514',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hi! My name is Claude.' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 2095, completion_tokens: 503, total_tokens: 2598 },
    });
    expect(usage).toEqual({ inputTokens: 2095, outputTokens: 503, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 });
  });

  it('maps tool_use blocks to tool_calls and counts cache reads and writes as input', () => {
    const message = parseWire(anthropicMessageSchema, JSON.parse(fixture('message-tool-use.json')), 'anthropic', 'message');
    const { response, usage } = mapAnthropicResponse(message, 0);
    expect(response.choices[0].finish_reason).toBe('tool_calls');
    expect(response.choices[0].message.tool_calls).toEqual([{ id: 'toolu_01A09q90qw90lq917835lq9', type: 'function',
      function: { name: 'get_weather', arguments: '{"location":"San Francisco, CA","unit":"celsius"}' } }]);
    expect(usage).toEqual({ inputTokens: 3472, outputTokens: 91, cachedInputTokens: 2000, cacheWriteTokens: 1000, reasoningTokens: 0 });
    expect(response.usage).toMatchObject({ prompt_tokens: 3472, prompt_tokens_details: { cached_tokens: 2000 } });
  });

  it('maps every stop reason', () => {
    expect(['end_turn', 'stop_sequence', 'max_tokens', 'tool_use', 'refusal', null].map(mapAnthropicStopReason))
      .toEqual(['stop', 'stop', 'length', 'tool_calls', 'content_filter', null]);
  });

  it('rejects a body that is not a Message with a 502 that says what was wrong', () => {
    const error = thrown(() => parseWire(anthropicMessageSchema, { id: 'x', type: 'message', role: 'assistant', model: 'm',
      content: [{ type: 'text' }], usage: { input_tokens: 1, output_tokens: 1 } }, 'anthropic', 'message'));
    expect(error.status).toBe(502);
    expect(error.message).toMatch(/Provider "anthropic" returned a malformed message at content\.0/);
  });
});

describe('AnthropicStreamMapper', () => {
  it('maps the documented text stream (fixture) to OpenAI chunks ending with a usage chunk', async () => {
    const { chunks, mapper, error } = await streamFixture('stream-text.sse');
    expect(error).toBeUndefined();
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? null).join('')).toBe('Hello!');
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    expect(chunks.every((chunk) => chunk.id === 'msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY')).toBe(true);
    const finish = chunks.find((chunk) => chunk.choices[0]?.finish_reason);
    expect(finish?.choices[0].finish_reason).toBe('stop');
    const last = chunks[chunks.length - 1];
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ prompt_tokens: 25, completion_tokens: 15, total_tokens: 40 });
    expect(mapper.usage()).toMatchObject({ inputTokens: 25, outputTokens: 15 });
  });

  it('maps a tool_use block to tool call deltas whose arguments join into the input JSON', async () => {
    const { chunks, mapper } = await streamFixture('stream-tool-use.sse');
    const calls = chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []);
    expect(calls[0]).toEqual({ index: 0, id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6', type: 'function', function: { name: 'get_weather', arguments: '' } });
    expect(JSON.parse(calls.map((call) => call.function?.arguments ?? '').join(''))).toEqual({ location: 'San Francisco, CA' });
    expect(calls.every((call) => call.index === 0)).toBe(true);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe("Okay, let's check the weather.");
    expect(chunks.find((chunk) => chunk.choices[0]?.finish_reason)?.choices[0].finish_reason).toBe('tool_calls');
    expect(mapper.usage()).toEqual({ inputTokens: 572, outputTokens: 89, cachedInputTokens: 100, cacheWriteTokens: 0, reasoningTokens: 0 });
  });

  it('maps thinking to reasoning_content and reports thinking tokens as reasoning', async () => {
    const { chunks, mapper } = await streamFixture('stream-thinking.sse');
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.reasoning_content ?? '').join('')).toBe('27 * 453 = 12231');
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe('27 * 453 = 12,231');
    expect(mapper.usage()).toMatchObject({ outputTokens: 40, reasoningTokens: 25 });
  });

  it('surfaces an `error` event as a 502 from the iterator, after the text that came before it', async () => {
    const { chunks, mapper, error } = await streamFixture('stream-error.sse');
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe('Partial');
    expect(error?.status).toBe(502);
    expect(error?.message).toMatch(/overloaded_error.*Overloaded/);
    expect(mapper.usage()).toMatchObject({ inputTokens: 12, outputTokens: 1 });
  });

  it('fails a stream that ends before message_stop', async () => {
    const mapper = new AnthropicStreamMapper('anthropic', 0);
    const text = fixture('stream-text.sse');
    const cut = text.slice(0, text.indexOf('event: message_delta'));
    const parser = new SseParser();
    const messages = [...parser.push(cut), ...parser.end()];
    async function* events() { yield* messages.map((message) => [message]); }
    await expect(async () => { for await (const batch of mapper.map(events())) void batch; }).rejects.toThrow(/ended the stream before message_stop/);
  });
});
