// The /v1/messages ingress translation: Anthropic request -> ChatRequest, ChatResponse / chunks -> Anthropic, and round trips.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ChatChunk } from '../src/core/chat-types.js';
import { CovenantError } from '../src/core/errors.js';
import {
  anthropicRequestToChat, anthropicStreamFormat, chatChunksToAnthropicEvents, chatResponseToAnthropic, covenantErrorToAnthropic, formatSseEvent,
  type AnthropicSseEvent,
} from '../src/gateway/messages/index.js';
import { anthropicMessageSchema, parseWire } from '../src/providers/anthropic/anthropic-api-schema.js';
import { convertToAnthropicRequest } from '../src/providers/anthropic/convert-to-anthropic-request.js';
import { mapAnthropicResponse } from '../src/providers/anthropic/map-anthropic-response.js';
import { AnthropicStreamMapper } from '../src/providers/anthropic/map-anthropic-stream.js';
import { SseParser } from '../src/providers/sse.js';
import { eachOf } from './helpers/batches.js';

const fixtures = new URL('./fixtures/anthropic/', import.meta.url);
const fixture = (name: string) => readFileSync(new URL(name, fixtures), 'utf8');

function rejected(body: unknown): CovenantError {
  try {
    anthropicRequestToChat(body);
  } catch (error) {
    if (error instanceof CovenantError) return error;
    throw error;
  }
  throw new Error('expected a CovenantError');
}

async function* from<T>(items: T[], failWith?: Error): AsyncGenerator<T> {
  for (const item of items) yield item;
  if (failWith) throw failWith;
}

async function events(chunks: AsyncIterable<ChatChunk>, model = 'fast'): Promise<AnthropicSseEvent[]> {
  const all: AnthropicSseEvent[] = [];
  for await (const event of chatChunksToAnthropicEvents(chunks, model)) all.push(event);
  return all;
}

const chunk = (delta: ChatChunk['choices'][0]['delta'], finish: ChatChunk['choices'][0]['finish_reason'] = null): ChatChunk =>
  ({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 0, model: 'gpt-x', choices: [{ index: 0, delta, finish_reason: finish }] });

describe('anthropicRequestToChat', () => {
  it('translates the SDK-style fixture: system, tools, tool_use / tool_result, images, stop, metadata', () => {
    const { request, stream, warnings } = anthropicRequestToChat(JSON.parse(fixture('request-tools.json')));
    expect(stream).toBe(false);
    expect(warnings).toEqual([]);
    expect(request).toEqual({
      model: 'claude-sonnet-4-20250514',
      max_tokens: 1024,
      messages: [
        { role: 'system', content: 'You are a weather assistant.' },
        { role: 'user', content: "What's the weather like in San Francisco?" },
        { role: 'assistant', content: "I'll check the current weather in San Francisco for you.", tool_calls: [
          { id: 'toolu_01A09q90qw90lq917835lq9', type: 'function', function: { name: 'get_weather', arguments: '{"location":"San Francisco, CA"}' } },
        ] },
        { role: 'tool', tool_call_id: 'toolu_01A09q90qw90lq917835lq9', content: '15 degrees' },
        { role: 'user', content: [
          { type: 'text', text: 'And is that warm?' },
          { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/4AAQSkZJRg==' } },
        ] },
      ],
      stop: ['\n\nHuman:'],
      temperature: 0.2,
      user: 'user-42',
      tools: [{ type: 'function', function: { name: 'get_weather', description: 'Get the current weather in a given location',
        parameters: { type: 'object', properties: { location: { type: 'string', description: 'The city and state, e.g. San Francisco, CA' } }, required: ['location'] } } }],
      tool_choice: 'auto',
    });
  });

  it('round-trips through the Anthropic adapter back to the same request', () => {
    const original = JSON.parse(fixture('request-tools.json'));
    const { body } = convertToAnthropicRequest(anthropicRequestToChat(original).request, false);
    expect(body).toEqual({ ...original, system: 'You are a weather assistant.' });
  });

  it('round-trips any text conversation (property)', () => {
    const word = fc.stringMatching(/^[a-z]{1,8}$/);
    const text = fc.array(word, { minLength: 1, maxLength: 6 }).map((words) => words.join(' '));
    fc.assert(fc.property(
      fc.array(text, { minLength: 1, maxLength: 7 }), fc.integer({ min: 1, max: 100_000 }), fc.option(text, { nil: undefined }),
      fc.array(word, { maxLength: 3 }), fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
      (turns, maxTokens, system, stops, temperature) => {
        const original: Record<string, unknown> = {
          model: 'fast', max_tokens: maxTokens,
          messages: turns.map((content, index) => ({ role: index % 2 === 0 ? 'user' : 'assistant', content })),
        };
        if (system !== undefined) original.system = system;
        if (stops.length > 0) original.stop_sequences = stops;
        if (temperature !== undefined) original.temperature = temperature;
        const { body } = convertToAnthropicRequest(anthropicRequestToChat(original).request, false);
        const expected = { ...original, messages: (original.messages as { role: string; content: string }[])
          .map((message) => (message.role === 'assistant' ? { role: 'assistant', content: [{ type: 'text', text: message.content }] } : message)) };
        expect(body).toEqual(expected);
      }));
  });

  it('maps tool_choice forms and asks for usage on streams', () => {
    const base = { model: 'fast', max_tokens: 10, messages: [{ role: 'user', content: 'x' }],
      tools: [{ name: 'f', input_schema: { type: 'object' } }] };
    const choice = (tool_choice: unknown) => anthropicRequestToChat({ ...base, tool_choice }).request;
    expect(choice({ type: 'any' }).tool_choice).toBe('required');
    expect(choice({ type: 'none' }).tool_choice).toBe('none');
    expect(choice({ type: 'tool', name: 'f', disable_parallel_tool_use: true })).toMatchObject({
      tool_choice: { type: 'function', function: { name: 'f' } }, parallel_tool_calls: false });
    const { request, stream } = anthropicRequestToChat({ ...base, stream: true });
    expect(stream).toBe(true);
    expect(request).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it('warns about fields it drops', () => {
    const { warnings } = anthropicRequestToChat({ model: 'fast', max_tokens: 10, top_k: 5,
      thinking: { type: 'enabled', budget_tokens: 1024 }, messages: [{ role: 'user', content: 'x' }] });
    expect(warnings).toHaveLength(2);
    expect(warnings.join(' ')).toMatch(/top_k.*thinking/);
  });

  it('answers bad input with a 400 naming the field', () => {
    const missing = rejected({ model: 'fast', messages: [{ role: 'user', content: 'x' }] });
    expect(missing.status).toBe(400);
    expect(missing.param).toBe('max_tokens');
    expect(missing.message).toBe('max_tokens: Field required');

    expect(rejected({ model: 'fast', max_tokens: '10', messages: [{ role: 'user', content: 'x' }] }).param).toBe('max_tokens');
    expect(rejected({ model: 'fast', max_tokens: 10, messages: [] }).param).toBe('messages');
    expect(rejected({ model: 'fast', max_tokens: 10, messages: [{ role: 'robot', content: 'x' }] }).param).toBe('messages[0].role');
    const block = rejected({ model: 'fast', max_tokens: 10, messages: [{ role: 'user', content: [{ type: 'text', text: 3 }] }] });
    expect(block.param).toBe('messages[0].content[0].text');
    expect(rejected({ model: 'fast', max_tokens: 10, temperature: 2, messages: [{ role: 'user', content: 'x' }] }).param).toBe('temperature');
    expect(rejected([1, 2]).message).toMatch(/JSON object/);
    const serverTool = rejected({ model: 'fast', max_tokens: 10, messages: [{ role: 'user', content: 'x' }],
      tools: [{ type: 'web_search_20250305', name: 'web_search' }] });
    expect(serverTool.param).toBe('tools[0].type');
    expect(serverTool.message).toMatch(/server tools are not/);
  });
});

describe('chatResponseToAnthropic', () => {
  it('turns text and tool calls into content blocks with the requested model and Anthropic usage', () => {
    const message = chatResponseToAnthropic({
      id: 'chatcmpl-9', object: 'chat.completion', created: 0, model: 'gpt-4o-mini-2024-07-18',
      choices: [{ index: 0, finish_reason: 'tool_calls', message: { role: 'assistant', content: 'Let me look.',
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] } }],
      usage: { prompt_tokens: 120, completion_tokens: 30, total_tokens: 150, prompt_tokens_details: { cached_tokens: 100 } },
    }, 'fast');
    expect(message).toEqual({
      id: 'msg_chatcmpl-9', type: 'message', role: 'assistant', model: 'fast',
      content: [{ type: 'text', text: 'Let me look.' }, { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Oslo' } }],
      stop_reason: 'tool_use', stop_sequence: null,
      usage: { input_tokens: 20, output_tokens: 30, cache_creation_input_tokens: 0, cache_read_input_tokens: 100 },
    });
  });

  it('round-trips an Anthropic Message through the adapter mapper (fixture), cache writes included', () => {
    const original = JSON.parse(fixture('message-tool-use.json'));
    const { response, usage } = mapAnthropicResponse(parseWire(anthropicMessageSchema, original, 'anthropic', 'message'), 0);
    expect(chatResponseToAnthropic(response, original.model, usage)).toEqual(original);
  });

  it('maps finish reasons: length -> max_tokens, stop -> end_turn, content_filter -> refusal', () => {
    const reason = (finish: 'length' | 'stop' | 'content_filter') => chatResponseToAnthropic({ id: 'msg_1', object: 'chat.completion',
      created: 0, model: 'm', choices: [{ index: 0, finish_reason: finish, message: { role: 'assistant', content: 'x' } }] }, 'fast').stop_reason;
    expect([reason('length'), reason('stop'), reason('content_filter')]).toEqual(['max_tokens', 'end_turn', 'refusal']);
  });
});

describe('chatChunksToAnthropicEvents', () => {
  it('produces the exact documented event sequence for text then two tool calls', async () => {
    const all = await events(from([
      chunk({ role: 'assistant', content: '' }),
      chunk({ content: 'Hello' }),
      chunk({ content: ' there' }),
      chunk({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'f', arguments: '' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"x":' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '1}' } }] }),
      chunk({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'g', arguments: '{}' } }] }),
      chunk({}, 'tool_calls'),
      { ...chunk({}), choices: [], usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 } },
    ]));
    expect(all.map((event) => event.event)).toEqual([
      'message_start',
      'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_stop',
      'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_stop',
      'content_block_start', 'content_block_delta', 'content_block_stop',
      'message_delta', 'message_stop',
    ]);
    expect(all[0].data).toMatchObject({ type: 'message_start', message: { id: 'msg_chatcmpl-1', model: 'fast', content: [], role: 'assistant' } });
    expect(all[5].data).toEqual({ type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'call_a', name: 'f', input: {} } });
    expect(all[7].data).toEqual({ type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '1}' } });
    expect(all[9].data).toMatchObject({ index: 2, content_block: { id: 'call_b', name: 'g' } });
    expect(all[12].data).toEqual({ type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null },
      usage: { input_tokens: 11, output_tokens: 7, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 } });
    expect(formatSseEvent(all[13])).toBe('event: message_stop\ndata: {"type":"message_stop"}\n\n');
  });

  it('round-trips an Anthropic stream (fixture) through the adapter mapper', async () => {
    const parser = new SseParser();
    const upstream = [...parser.push(fixture('stream-tool-use.sse')), ...parser.end()];
    const mapper = new AnthropicStreamMapper('anthropic', 0);
    const out = await events(eachOf(mapper.map(from([upstream]))), 'claude-sonnet-4-20250514');
    // The same sequence, less the ping and the empty input_json_delta (neither carries anything).
    const expected = upstream.filter((message) => message.event !== 'ping' && !message.data.includes('"partial_json":""'));
    expect(out.map((event) => event.event)).toEqual(expected.map((message) => message.event));
    const text = out.flatMap((event) => (event.data.delta as { text?: string } | undefined)?.text ?? []).join('');
    expect(text).toBe("Okay, let's check the weather.");
    expect(out.at(-2)?.data).toMatchObject({ delta: { stop_reason: 'tool_use' }, usage: { input_tokens: 472, output_tokens: 89, cache_read_input_tokens: 100 } });
  });

  it('turns a failure after the first chunk into an `error` event and ends', async () => {
    const failure = new CovenantError('upstream_error', 'Provider "x" broke off the stream: reset');
    const all = await events(from([chunk({ role: 'assistant', content: 'Hi' })], failure));
    expect(all.map((event) => event.event)).toEqual(['message_start', 'content_block_start', 'content_block_delta', 'error']);
    expect(all[3].data).toEqual({ type: 'error', error: { type: 'api_error', message: 'Provider "x" broke off the stream: reset' } });
  });

  it('throws a failure that comes before any chunk, so the gateway can answer with an HTTP error', async () => {
    const failure = new CovenantError('upstream_timeout', 'too slow');
    await expect(events(from([], failure))).rejects.toBe(failure);
  });

  it('still frames an empty stream as a complete message', async () => {
    const all = await events(from([]));
    expect(all.map((event) => event.event)).toEqual(['message_start', 'message_delta', 'message_stop']);
  });
});

describe('anthropicStreamFormat', () => {
  it('frames each chunk\'s events as SSE, ends a good stream with message_delta and message_stop, and has an Anthropic error frame', () => {
    const format = anthropicStreamFormat('fast', () => ({ inputTokens: 7, outputTokens: 1, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 }));
    const first = format.frame(chunk({ role: 'assistant', content: 'Hi' }));
    expect(first).toMatch(/^event: message_start\ndata: \{"type":"message_start"/);
    expect(first.endsWith('event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}\n\n')).toBe(true);
    expect(format.frame(chunk({ content: '!' }))).toBe('event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"!"}}\n\n');
    const end = format.end();
    expect(end.split('\n\n').filter(Boolean).map((frame) => frame.split('\n')[0])).toEqual(['event: content_block_stop', 'event: message_delta', 'event: message_stop']);
    expect(end).toContain('"usage":{"input_tokens":7,');
    const failure = new CovenantError('upstream_error', 'Provider "x" broke off the stream: reset');
    expect(format.errorFrame(failure)).toBe(
      'event: error\ndata: {"type":"error","error":{"type":"api_error","message":"Provider \\"x\\" broke off the stream: reset"}}\n\n');
  });
});

describe('covenantErrorToAnthropic', () => {
  it('uses Anthropic\'s error types and never leaks an internal message', () => {
    expect(covenantErrorToAnthropic(new CovenantError('budget_exceeded', 'Budget "claims" is spent.')))
      .toEqual({ type: 'error', error: { type: 'billing_error', message: 'Budget "claims" is spent.' } });
    expect(covenantErrorToAnthropic(new CovenantError('invalid_api_key')).error.type).toBe('authentication_error');
    expect(covenantErrorToAnthropic(new CovenantError('rate_limit_exceeded', 'slow down')).error.type).toBe('rate_limit_error');
    expect(covenantErrorToAnthropic(new CovenantError('upstream_timeout', 'late')).error.type).toBe('timeout_error');
    const internal = covenantErrorToAnthropic(new TypeError('secret stack detail'));
    expect(internal.error.type).toBe('api_error');
    expect(internal.error.message).not.toContain('secret');
  });
});
