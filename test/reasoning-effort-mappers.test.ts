// reasoning_effort's pure mappers: the effort table, Anthropic's extended thinking and Gemini's thinking budget, and thinking kept out of the answer.
import { describe, expect, it } from 'vitest';
import type { ChatChunk, ChatRequest } from '../src/core/chat-types.js';
import { minimumThinkingBudget, thinkingBudgetByEffort, thinkingBudgetFor } from '../src/core/thinking-budget.js';
import { anthropicMessageSchema, anthropicStreamEventSchema, parseWire } from '../src/providers/anthropic/anthropic-api-schema.js';
import { convertToAnthropicRequest } from '../src/providers/anthropic/convert-to-anthropic-request.js';
import { mapAnthropicResponse } from '../src/providers/anthropic/map-anthropic-response.js';
import { AnthropicStreamMapper } from '../src/providers/anthropic/map-anthropic-stream.js';
import { convertToGeminiRequest } from '../src/providers/gemini/convert-to-gemini-request.js';
import { geminiResponseSchema, parseGeminiWire } from '../src/providers/gemini/gemini-api-schema.js';
import { mapGeminiResponse } from '../src/providers/gemini/map-gemini-response.js';

const chat = (fields: Partial<ChatRequest>): ChatRequest => ({ model: 'm', messages: [{ role: 'user', content: 'Why is the sky blue?' }], ...fields });

describe('thinkingBudgetFor', () => {
  it('maps each effort to its budget, below the output limit, and never below the minimum', () => {
    expect(thinkingBudgetByEffort).toEqual({ minimal: 1024, low: 1024, medium: 8192, high: 24576 });
    expect(thinkingBudgetFor(undefined, 100, 'P')).toEqual({ budget: undefined, warnings: [] });
    expect(thinkingBudgetFor('none', 100, 'P')).toEqual({ budget: 0, warnings: [] });
    expect(thinkingBudgetFor('high', undefined, 'P')).toEqual({ budget: 24576, warnings: [] });
    expect(thinkingBudgetFor('medium', 8193, 'P')).toEqual({ budget: 8192, warnings: [] });
    const capped = thinkingBudgetFor('medium', 8192, 'P');
    expect(capped.budget).toBe(8191);
    expect(capped.warnings[0]).toContain('8191');
    const dropped = thinkingBudgetFor('low', minimumThinkingBudget, 'P');
    expect(dropped.budget).toBeUndefined();
    expect(dropped.warnings[0]).toContain('without a thinking budget');
    const unknown = thinkingBudgetFor('extreme', 9000, 'P');
    expect(unknown.budget).toBeUndefined();
    expect(unknown.warnings[0]).toContain('"extreme"');
  });
});

describe('reasoning_effort to Anthropic', () => {
  it('enables extended thinking with the effort\'s budget, below max_tokens, with no warning', () => {
    const { body, warnings } = convertToAnthropicRequest(chat({ reasoning_effort: 'medium', max_tokens: 10_000 }), false);
    expect(body.thinking).toEqual({ type: 'enabled', budget_tokens: 8192 });
    expect(body.max_tokens).toBe(10_000);
    expect(warnings).toEqual([]);
  });

  it('caps the budget below max_tokens, and drops thinking with a warning when max_tokens cannot hold 1024', () => {
    const capped = convertToAnthropicRequest(chat({ reasoning_effort: 'high' }), true);
    expect(capped.body.thinking).toEqual({ type: 'enabled', budget_tokens: 4095 });
    expect(capped.warnings.join(' ')).toContain('4095');
    const dropped = convertToAnthropicRequest(chat({ reasoning_effort: 'low', max_completion_tokens: 1024 }), false);
    expect(dropped.body.thinking).toBeUndefined();
    expect(dropped.warnings.join(' ')).toContain('reasoning_effort');
  });

  it('leaves out what Anthropic refuses with thinking (temperature, low top_p) with a warning each', () => {
    const { body, warnings } = convertToAnthropicRequest(chat({ reasoning_effort: 'low', max_tokens: 2000, temperature: 0.2, top_p: 0.5 }), false);
    expect(body.thinking).toEqual({ type: 'enabled', budget_tokens: 1024 });
    expect(body.temperature).toBeUndefined();
    expect(body.top_p).toBeUndefined();
    expect(warnings.some((warning) => warning.startsWith('temperature'))).toBe(true);
    expect(warnings.some((warning) => warning.startsWith('top_p'))).toBe(true);
    const kept = convertToAnthropicRequest(chat({ reasoning_effort: 'low', max_tokens: 2000, temperature: 1, top_p: 0.97 }), false);
    expect(kept.body).toMatchObject({ temperature: 1, top_p: 0.97 });
    expect(kept.warnings).toEqual([]);
  });

  it('keeps forced tool use and a tool-result turn, dropping thinking with a warning instead', () => {
    const tools = [{ type: 'function' as const, function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }];
    const forced = convertToAnthropicRequest(chat({ reasoning_effort: 'low', max_tokens: 2000, tools, tool_choice: 'required' }), false);
    expect(forced.body.thinking).toBeUndefined();
    expect(forced.body.tool_choice).toEqual({ type: 'any' });
    expect(forced.warnings.join(' ')).toContain('forces a tool call');
    const loop = convertToAnthropicRequest(chat({
      reasoning_effort: 'low', max_tokens: 2000, tools,
      messages: [
        { role: 'user', content: 'lookup' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: '42' },
      ],
    }), false);
    expect(loop.body.thinking).toBeUndefined();
    expect(loop.warnings.join(' ')).toContain('tool result');
  });

  it('sends nothing for "none" or no effort, and no longer warns that reasoning_effort was ignored', () => {
    for (const request of [chat({ reasoning_effort: 'none' }), chat({})]) {
      const { body, warnings } = convertToAnthropicRequest(request, false);
      expect(body.thinking).toBeUndefined();
      expect(warnings).toEqual([]);
    }
  });

  it('keeps thinking blocks out of the answer\'s text, as reasoning_content, and counts the thinking tokens', () => {
    const message = parseWire(anthropicMessageSchema, {
      id: 'msg_1', type: 'message', role: 'assistant', model: 'claude', stop_reason: 'end_turn', stop_sequence: null,
      content: [{ type: 'thinking', thinking: 'Rayleigh scattering', signature: 'sig' }, { type: 'redacted_thinking', data: 'xyz' }, { type: 'text', text: 'Scattering.' }],
      usage: { input_tokens: 10, output_tokens: 1030, output_tokens_details: { thinking_tokens: 1024 } },
    }, 'anthropic', 'message');
    const { response, usage } = mapAnthropicResponse(message, 0);
    expect(response.choices[0]!.message.content).toBe('Scattering.');
    expect(response.choices[0]!.message.reasoning_content).toBe('Rayleigh scattering');
    expect(usage).toMatchObject({ outputTokens: 1030, reasoningTokens: 1024 });
    expect(response.usage?.completion_tokens_details?.reasoning_tokens).toBe(1024);
  });

  it('streams thinking_delta as reasoning_content, skips signature_delta, and reads thinking tokens from the final message_delta', () => {
    const mapper = new AnthropicStreamMapper('anthropic', 0);
    const events = [
      { type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude', content: [], stop_reason: null, usage: { input_tokens: 10, output_tokens: 1 } } },
      { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'Rayleigh' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'sig' } },
      { type: 'content_block_stop', index: 0 },
      { type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } },
      { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'Scattering.' } },
      { type: 'content_block_stop', index: 1 },
      { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 1030, output_tokens_details: { thinking_tokens: 1024 } } },
      { type: 'message_stop' },
    ];
    const chunks: ChatChunk[] = events.flatMap((event) => [...mapper.translate(parseWire(anthropicStreamEventSchema, event, 'anthropic', 'event'))]);
    const deltas = chunks.flatMap((chunk) => chunk.choices.map((choice) => choice.delta));
    expect(deltas.map((delta) => delta.content ?? '').join('')).toBe('Scattering.');
    expect(deltas.map((delta) => delta.reasoning_content ?? '').join('')).toBe('Rayleigh');
    expect(mapper.usage()).toMatchObject({ outputTokens: 1030, reasoningTokens: 1024 });
  });
});

describe('reasoning_effort to Gemini', () => {
  it('sets generationConfig.thinkingConfig.thinkingBudget below maxOutputTokens', () => {
    expect(convertToGeminiRequest(chat({ reasoning_effort: 'high' })).body.generationConfig).toEqual({ thinkingConfig: { thinkingBudget: 24576 } });
    const fits = convertToGeminiRequest(chat({ reasoning_effort: 'medium', max_tokens: 9000 }));
    expect(fits.body.generationConfig).toEqual({ maxOutputTokens: 9000, thinkingConfig: { thinkingBudget: 8192 } });
    expect(fits.warnings).toEqual([]);
    const capped = convertToGeminiRequest(chat({ reasoning_effort: 'medium', max_completion_tokens: 5000 }));
    expect(capped.body.generationConfig?.thinkingConfig).toEqual({ thinkingBudget: 4999 });
    expect(capped.warnings.join(' ')).toContain('4999');
    const dropped = convertToGeminiRequest(chat({ reasoning_effort: 'minimal', max_tokens: 500 }));
    expect(dropped.body.generationConfig).toEqual({ maxOutputTokens: 500 });
    expect(dropped.warnings.join(' ')).toContain('reasoning_effort');
  });

  it('sends no thinkingConfig without an effort, and warns on "none" instead of sending 0', () => {
    expect(convertToGeminiRequest(chat({})).body.generationConfig).toBeUndefined();
    const none = convertToGeminiRequest(chat({ reasoning_effort: 'none' }));
    expect(none.body.generationConfig).toBeUndefined();
    expect(none.warnings.join(' ')).toContain('"none"');
  });

  it('counts thoughts as output and reasoning, and keeps thought parts out of the answer', () => {
    const response = parseGeminiWire(geminiResponseSchema, {
      candidates: [{ content: { role: 'model', parts: [{ text: 'Rayleigh', thought: true }, { text: 'Scattering.' }] }, finishReason: 'STOP' }],
      usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 3, thoughtsTokenCount: 1024 },
    }, 'gemini', 'response');
    const mapped = mapGeminiResponse(response, { id: 'chatcmpl-1', created: 0, model: 'gemini', newToolCallId: () => 'call_1' });
    expect(mapped.response.choices[0]!.message.content).toBe('Scattering.');
    expect(mapped.usage).toMatchObject({ outputTokens: 1027, reasoningTokens: 1024 });
  });
});
