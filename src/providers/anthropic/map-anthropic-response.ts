// Anthropic Message -> OpenAI ChatResponse, plus the finish-reason and usage mappings the stream mapper shares.
import type { ChatResponse, FinishReason, ToolCall, Usage } from '../../core/chat-types.js';
import { usageToOpenAI } from '../../core/chat-types.js';
import type { AnthropicResponseMessage } from './anthropic-api-schema.js';

/** Anthropic stop_reason -> OpenAI finish_reason (https://docs.anthropic.com/en/api/handling-stop-reasons). */
export function mapAnthropicStopReason(stopReason: string | null | undefined): FinishReason | null {
  switch (stopReason) {
    case 'end_turn':
    case 'stop_sequence':
    case 'pause_turn':
      return 'stop';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    case null:
    case undefined:
      return null;
    default:
      return 'stop';
  }
}

export interface AnthropicUsageCounts {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  output_tokens_details?: { thinking_tokens?: number | null } | null;
}

/**
 * Anthropic's input_tokens excludes cached and cache-written tokens; Covenant's inputTokens counts all of them.
 * @example mapAnthropicUsage({input_tokens: 10, output_tokens: 5, cache_read_input_tokens: 100})
 *   // {inputTokens: 110, outputTokens: 5, cachedInputTokens: 100, cacheWriteTokens: 0, reasoningTokens: 0}
 */
export function mapAnthropicUsage(usage: AnthropicUsageCounts): Usage {
  const cacheRead = usage.cache_read_input_tokens ?? 0;
  const cacheWrite = usage.cache_creation_input_tokens ?? 0;
  return {
    inputTokens: (usage.input_tokens ?? 0) + cacheRead + cacheWrite,
    outputTokens: usage.output_tokens ?? 0,
    cachedInputTokens: cacheRead,
    cacheWriteTokens: cacheWrite,
    reasoningTokens: usage.output_tokens_details?.thinking_tokens ?? 0,
  };
}

export interface MappedResponse {
  response: ChatResponse;
  usage: Usage;
}

/** Translate a validated Anthropic Message; `created` (Unix seconds) comes from the caller's clock. */
export function mapAnthropicResponse(message: AnthropicResponseMessage, created: number): MappedResponse {
  let text = '';
  let reasoning = '';
  const toolCalls: ToolCall[] = [];
  for (const block of message.content) {
    if (block.type === 'text') text += block.text as string;
    else if (block.type === 'thinking') reasoning += block.thinking as string;
    else if (block.type === 'tool_use') {
      toolCalls.push({ id: block.id as string, type: 'function',
        function: { name: block.name as string, arguments: JSON.stringify(block.input ?? {}) } });
    }
  }
  const usage = mapAnthropicUsage(message.usage);
  const response: ChatResponse = {
    id: message.id,
    object: 'chat.completion',
    created,
    model: message.model,
    choices: [{
      index: 0,
      message: {
        role: 'assistant',
        // OpenAI sends null content on a pure tool call.
        content: text.length === 0 && toolCalls.length > 0 ? null : text,
        ...(reasoning.length > 0 ? { reasoning_content: reasoning } : {}),
        ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
      },
      finish_reason: mapAnthropicStopReason(message.stop_reason) ?? 'stop',
      logprobs: null,
    }],
    usage: usageToOpenAI(usage),
  };
  return { response, usage };
}
