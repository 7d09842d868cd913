// POST /v1/messages egress: the internal OpenAI ChatResponse -> an Anthropic Message, as Anthropic's SDK parses it.
import type { ChatMessage, ChatResponse, FinishReason, Usage } from '../../core/chat-types.js';
import { usageFromOpenAI } from '../../core/chat-types.js';

export type AnthropicStopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'refusal';

export type AnthropicOutputBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: unknown };

export interface AnthropicUsageJson {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

/** The Message object (https://docs.anthropic.com/en/api/messages, "Response"). */
export interface AnthropicMessageJson {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: AnthropicOutputBlock[];
  stop_reason: AnthropicStopReason | null;
  stop_sequence: string | null;
  usage: AnthropicUsageJson;
}

/** OpenAI finish_reason -> Anthropic stop_reason. */
export function toAnthropicStopReason(finishReason: FinishReason | null | undefined): AnthropicStopReason {
  switch (finishReason) {
    case 'length': return 'max_tokens';
    case 'tool_calls':
    case 'function_call': return 'tool_use';
    case 'content_filter': return 'refusal';
    default: return 'end_turn';
  }
}

/** Covenant's usage -> Anthropic's, where input_tokens excludes cache reads and cache writes. */
export function toAnthropicUsage(usage: Usage | undefined): AnthropicUsageJson {
  if (!usage) return { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
  return {
    input_tokens: Math.max(0, usage.inputTokens - usage.cachedInputTokens - usage.cacheWriteTokens),
    output_tokens: usage.outputTokens,
    cache_creation_input_tokens: usage.cacheWriteTokens,
    cache_read_input_tokens: usage.cachedInputTokens,
  };
}

/** Anthropic message ids start with "msg_"; other providers' ids are kept, prefixed. */
export function toAnthropicMessageId(id: string): string {
  return id.startsWith('msg_') ? id : `msg_${id}`;
}

/**
 * Translate a chat response for an Anthropic client. `requestedModel` is the model the client named (the alias);
 * `usage` is the adapter's normalised usage when known (it keeps cache writes, which OpenAI's wire usage cannot).
 */
export function chatResponseToAnthropic(response: ChatResponse, requestedModel: string, usage?: Usage): AnthropicMessageJson {
  const choice = response.choices[0];
  return {
    id: toAnthropicMessageId(response.id),
    type: 'message',
    role: 'assistant',
    model: requestedModel,
    content: choice ? contentBlocks(choice.message) : [],
    stop_reason: toAnthropicStopReason(choice?.finish_reason),
    stop_sequence: null,
    usage: toAnthropicUsage(usage ?? usageFromOpenAI(response.usage)),
  };
}

function contentBlocks(message: ChatMessage): AnthropicOutputBlock[] {
  const blocks: AnthropicOutputBlock[] = [];
  const text = typeof message.content === 'string'
    ? message.content
    : (message.content ?? []).map((part) => (part.type === 'text' && typeof part.text === 'string' ? part.text : '')).join('');
  if (text.length > 0) blocks.push({ type: 'text', text });
  if (typeof message.refusal === 'string' && message.refusal.length > 0) blocks.push({ type: 'text', text: message.refusal });
  for (const call of message.tool_calls ?? []) {
    blocks.push({ type: 'tool_use', id: call.id, name: call.function.name, input: parseToolInput(call.function.arguments) });
  }
  return blocks;
}

/** Anthropic clients expect tool input as an object; arguments a model garbled come through as {} rather than crash the reply. */
export function parseToolInput(text: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // fall through
  }
  return {};
}
