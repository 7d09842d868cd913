// Gemini mappers on recorded-format fixtures: request conversion, response and stream mapping, finish reasons, usage, schema checks.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ChatChunk, ChatRequest } from '../src/core/chat-types.js';
import { CovenantError } from '../src/core/errors.js';
import { SseParser } from '../src/providers/sse.js';
import { convertJsonSchemaToGemini } from '../src/providers/gemini/convert-json-schema.js';
import { convertToGeminiRequest } from '../src/providers/gemini/convert-to-gemini-request.js';
import { geminiResponseSchema, parseGeminiWire } from '../src/providers/gemini/gemini-api-schema.js';
import { mapGeminiFinishReason, mapGeminiResponse, mapGeminiUsage, type GeminiMappingContext } from '../src/providers/gemini/map-gemini-response.js';
import { GeminiStreamMapper } from '../src/providers/gemini/map-gemini-stream.js';

const fixtures = new URL('./fixtures/gemini/', import.meta.url);
const fixture = (name: string): string => readFileSync(new URL(name, fixtures), 'utf8');
const json = (name: string): unknown => JSON.parse(fixture(name));

function context(): GeminiMappingContext {
  let next = 0;
  return { id: 'chatcmpl-local', created: 1_700_000_000, model: 'gemini-requested', newToolCallId: () => `call_${++next}` };
}

const parse = (name: string) => parseGeminiWire(geminiResponseSchema, json(name), 'gemini', 'response');

/** The SSE events of `text` as one batch, as when one read of the body holds them all. */
async function* events(text: string) {
  const parser = new SseParser();
  yield [...parser.push(text), ...parser.end()];
}

async function collect(batches: AsyncIterable<ChatChunk[]>): Promise<ChatChunk[]> {
  const chunks: ChatChunk[] = [];
  for await (const batch of batches) chunks.push(...batch);
  return chunks;
}

describe('convertToGeminiRequest', () => {
  it('converts a tools conversation to the documented generateContent body, warning about what Gemini lacks', () => {
    const request = json('tools-conversation.request.json') as ChatRequest;
    const { body, warnings } = convertToGeminiRequest(request);
    expect(body).toEqual(json('tools-conversation.gemini.json'));
    expect(warnings).toEqual(['"logit_bias" is not supported by Gemini and was ignored.']);
  });

  it('maps tool_choice to functionCallingConfig modes', () => {
    const base: ChatRequest = { model: 'm', messages: [{ role: 'user', content: 'hi' }], tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { a: { type: 'string' } } } } }] };
    const mode = (tool_choice: unknown) => convertToGeminiRequest({ ...base, tool_choice }).body.toolConfig?.functionCallingConfig;
    expect(mode('none')).toEqual({ mode: 'NONE' });
    expect(mode('required')).toEqual({ mode: 'ANY' });
    expect(mode({ type: 'function', function: { name: 'f' } })).toEqual({ mode: 'ANY', allowedFunctionNames: ['f'] });
    expect(mode(undefined)).toBeUndefined();
  });

  it('uses max_completion_tokens over max_tokens and sends json_schema as responseSchema', () => {
    const { body } = convertToGeminiRequest({
      model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: 100, max_completion_tokens: 50,
      response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object', properties: { n: { type: 'integer' } }, additionalProperties: false } } },
    });
    expect(body.generationConfig).toEqual({ maxOutputTokens: 50, responseMimeType: 'application/json', responseSchema: { type: 'object', properties: { n: { type: 'integer' } } } });
  });

  it('rejects a tool result that answers no earlier call, naming the field', () => {
    const call = () => convertToGeminiRequest({ model: 'm', messages: [{ role: 'user', content: 'hi' }, { role: 'tool', tool_call_id: 'nope', content: 'x' }] });
    expect(call).toThrow(CovenantError);
    expect(call).toThrow(/messages\[1\]\.tool_call_id/);
  });
});

describe('convertJsonSchemaToGemini', () => {
  it('keeps only the OpenAPI subset Gemini accepts', () => {
    expect(convertJsonSchemaToGemini({ type: 'object', properties: { tags: { type: 'array', items: { type: 'string', const: 'x' } } }, additionalProperties: false, $schema: 'x' }))
      .toEqual({ type: 'object', properties: { tags: { type: 'array', items: { type: 'string', enum: ['x'] } } } });
    expect(convertJsonSchemaToGemini({ anyOf: [{ type: 'number' }, { type: 'null' }] }, false)).toEqual({ nullable: true, type: 'number' });
    expect(convertJsonSchemaToGemini({ type: 'object', properties: {} })).toBeUndefined();
  });
});

describe('mapGeminiResponse', () => {
  it('maps text, leaves thoughts out, and bills thoughts as output with cached input kept apart', () => {
    const { response, usage } = mapGeminiResponse(parse('text.json'), context());
    expect(response.id).toBe('chatcmpl-resp-text-1');
    expect(response.model).toBe('gemini-2.5-flash');
    expect(response.choices[0].message.content).toBe('Paris is the capital of France.');
    expect(response.choices[0].finish_reason).toBe('stop');
    expect(usage).toEqual({ inputTokens: 1200, outputTokens: 47, cachedInputTokens: 1024, cacheWriteTokens: 0, reasoningTokens: 40 });
    expect(response.usage).toMatchObject({ prompt_tokens: 1200, completion_tokens: 47, total_tokens: 1247 });
  });

  it('maps function calls to tool_calls with generated ids, keeping the thought signature', () => {
    const { response, usage } = mapGeminiResponse(parse('tool-call.json'), context());
    const choice = response.choices[0];
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    expect(choice.message.tool_calls).toEqual([
      { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Lyon","unit":"celsius"}' }, extra_content: { google: { thought_signature: 'c2lnbmF0dXJlLW9uZQ==' } } },
      { id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '{}' } },
    ]);
    // Tool-use prompt tokens are input too.
    expect(usage?.inputTokens).toBe(57);
  });

  it('maps MAX_TOKENS to length, SAFETY to content_filter, and a blocked prompt to one content_filter choice', () => {
    const truncated = mapGeminiResponse(parse('max-tokens.json'), context()).response;
    expect(truncated.choices.map((choice) => choice.finish_reason)).toEqual(['length', 'content_filter']);
    expect(truncated.id).toBe('chatcmpl-local');
    const blocked = mapGeminiResponse(parse('prompt-blocked.json'), context()).response;
    expect(blocked.choices).toEqual([{ index: 0, message: { role: 'assistant', content: null }, finish_reason: 'content_filter', logprobs: null }]);
  });

  it('maps finish reasons and usage by the documented rules', () => {
    expect(mapGeminiFinishReason('STOP', false)).toBe('stop');
    expect(mapGeminiFinishReason('RECITATION', false)).toBe('content_filter');
    expect(mapGeminiFinishReason('MALFORMED_FUNCTION_CALL', false)).toBe('stop');
    expect(mapGeminiUsage({})).toEqual({ inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 });
  });

  it('turns a payload that is not Gemini\'s into a 502 that says where', () => {
    expect(() => parseGeminiWire(geminiResponseSchema, { candidates: 'nope' }, 'gemini', 'response')).toThrow(/candidates/);
    try {
      parseGeminiWire(geminiResponseSchema, { usageMetadata: { promptTokenCount: -1 } }, 'gemini', 'response');
    } catch (error) {
      expect((error as CovenantError).status).toBe(502);
      return;
    }
    throw new Error('expected a 502');
  });
});

describe('GeminiStreamMapper', () => {
  it('turns text events into OpenAI chunks with a final usage chunk', async () => {
    const mapper = new GeminiStreamMapper('gemini', context());
    const chunks = await collect(mapper.map(events(fixture('text.sse'))));
    const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe('Paris is the capital.');
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    expect(chunks.every((chunk) => chunk.id === 'chatcmpl-resp-stream-1' && chunk.object === 'chat.completion.chunk')).toBe(true);
    const finish = chunks.filter((chunk) => chunk.choices[0]?.finish_reason);
    expect(finish.map((chunk) => chunk.choices[0].finish_reason)).toEqual(['stop']);
    const last = chunks[chunks.length - 1];
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ prompt_tokens: 8, completion_tokens: 25 });
    expect(mapper.usage()?.reasoningTokens).toBe(20);
  });

  it('emits a whole function call as one tool_calls delta and finishes with tool_calls', async () => {
    const chunks = await collect(new GeminiStreamMapper('gemini', context()).map(events(fixture('tool-call.sse'))));
    const calls = chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []);
    expect(calls).toEqual([{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Lyon"}' }, extra_content: { google: { thought_signature: 'c2lnLXN0cmVhbQ==' } } }]);
    expect(chunks.find((chunk) => chunk.choices[0]?.finish_reason)?.choices[0].finish_reason).toBe('tool_calls');
  });

  it('keeps the usage seen so far when the stream ends early, and fails with a 502', async () => {
    const firstEvent = fixture('text.sse').split('\r\n\r\n')[0] + '\r\n\r\n';
    const mapper = new GeminiStreamMapper('gemini', context());
    await expect(collect(mapper.map(events(firstEvent)))).rejects.toMatchObject({ status: 502, message: expect.stringContaining('before a finish reason') });
    expect(mapper.usage()).toMatchObject({ inputTokens: 8, outputTokens: 22 });
  });

  it('fails on an error event and on garbage', async () => {
    const error = 'data: {"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}\n\n';
    await expect(collect(new GeminiStreamMapper('gemini', context()).map(events(error)))).rejects.toThrow(/overloaded/);
    await expect(collect(new GeminiStreamMapper('gemini', context()).map(events('data: {"candidates": [\n\n')))).rejects.toMatchObject({ status: 502 });
  });

  it('gives the chunks of the events before an error event in the same read, then fails', async () => {
    const firstEvent = fixture('text.sse').split('\r\n\r\n')[0] + '\r\n\r\n';
    const error = 'data: {"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}\n\n';
    const received: ChatChunk[] = [];
    const failure = await (async () => {
      for await (const batch of new GeminiStreamMapper('gemini', context()).map(events(firstEvent + error))) received.push(...batch);
    })().then(() => undefined, (caught: unknown) => caught);
    expect(failure).toMatchObject({ status: 502, message: expect.stringContaining('overloaded') });
    expect(received.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).not.toBe('');
  });
});
