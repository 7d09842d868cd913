// POST /v1/responses egress: the internal OpenAI ChatResponse -> a Response object (https://platform.openai.com/docs/api-reference/responses/object).
import type { ChatMessage, ChatResponse, FinishReason, Usage } from '../../core/chat-types.js';
import { usageFromOpenAI } from '../../core/chat-types.js';
import type { ResponsesRequest } from './responses-request-schema.js';

export interface ResponsesUsageJson {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export type OutputItem =
  | { type: 'message'; id: string; status: 'completed' | 'in_progress' | 'incomplete'; role: 'assistant'; content: OutputContent[] }
  | { type: 'function_call'; id: string; call_id: string; name: string; arguments: string; status: 'completed' | 'in_progress' | 'incomplete' };

export interface OutputContent { type: 'output_text'; text: string; annotations: unknown[]; logprobs?: unknown[] }

export type ResponseStatus = 'completed' | 'incomplete' | 'in_progress' | 'failed';

export interface ResponseJson {
  id: string;
  object: 'response';
  created_at: number;
  status: ResponseStatus;
  error: { code: string; message: string } | null;
  incomplete_details: { reason: string } | null;
  model: string;
  output: OutputItem[];
  usage: ResponsesUsageJson | null;
  [key: string]: unknown;
}

/** Covenant's usage -> the Responses API's, where cached and reasoning tokens are parts of input and output. */
export function toResponsesUsage(usage: Usage | undefined): ResponsesUsageJson | null {
  if (!usage) return null;
  return {
    input_tokens: usage.inputTokens,
    input_tokens_details: { cached_tokens: usage.cachedInputTokens },
    output_tokens: usage.outputTokens,
    output_tokens_details: { reasoning_tokens: usage.reasoningTokens },
    total_tokens: usage.inputTokens + usage.outputTokens,
  };
}

/** A chat finish reason -> the response's status and why it is incomplete ("max_output_tokens", "content_filter"). */
export function statusOf(finishReason: FinishReason | null | undefined): { status: ResponseStatus; incomplete_details: { reason: string } | null } {
  if (finishReason === 'length') return { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } };
  if (finishReason === 'content_filter') return { status: 'incomplete', incomplete_details: { reason: 'content_filter' } };
  return { status: 'completed', incomplete_details: null };
}

/** Response ids start with "resp_"; other providers' ids are kept, prefixed. */
export function toResponseId(id: string): string {
  return id.startsWith('resp_') ? id : `resp_${id}`;
}

/** The request's settings a Response object echoes back, as OpenAI's does (defaults where the client sent none). */
export function echoOf(request: ResponsesRequest | undefined): Record<string, unknown> {
  return {
    instructions: request?.instructions ?? null,
    max_output_tokens: request?.max_output_tokens ?? null,
    metadata: request?.metadata ?? {},
    parallel_tool_calls: request?.parallel_tool_calls ?? true,
    previous_response_id: null,
    reasoning: { effort: request?.reasoning?.effort ?? null, summary: request?.reasoning?.summary ?? null },
    store: false,
    temperature: request?.temperature ?? 1,
    text: { format: request?.text?.format ?? { type: 'text' } },
    tool_choice: request?.tool_choice ?? 'auto',
    tools: request?.tools ?? [],
    top_p: request?.top_p ?? 1,
    truncation: 'disabled',
    user: request?.user ?? null,
  };
}

/**
 * Translate a chat response for a Responses client. `model` is what the response names (the upstream version);
 * `usage` is the adapter's normalised usage when known.
 * @example chatResponseToResponses(chat, 'gpt-4o-mini', usage, request).output[0]
 *   // {type: 'message', id: 'msg_…', status: 'completed', role: 'assistant', content: [{type: 'output_text', text: 'Hi', annotations: []}]}
 */
export function chatResponseToResponses(response: ChatResponse, model: string, usage: Usage | undefined, request?: ResponsesRequest): ResponseJson {
  const choice = response.choices[0];
  const base = response.id || 'covenant';
  return {
    id: toResponseId(base),
    object: 'response',
    created_at: typeof response.created === 'number' ? response.created : 0,
    ...statusOf(choice?.finish_reason),
    error: null,
    model,
    output: choice ? outputItems(choice.message, base) : [],
    usage: toResponsesUsage(usage ?? usageFromOpenAI(response.usage)),
    ...echoOf(request),
  };
}

function outputItems(message: ChatMessage, base: string): OutputItem[] {
  const items: OutputItem[] = [];
  const text = typeof message.content === 'string'
    ? message.content
    : (message.content ?? []).map((part) => (part.type === 'text' && typeof part.text === 'string' ? part.text : '')).join('');
  const refusal = typeof message.refusal === 'string' ? message.refusal : '';
  if (text.length > 0 || refusal.length > 0) {
    items.push({ type: 'message', id: `msg_${base}`, status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: text + refusal, annotations: [] }] });
  }
  (message.tool_calls ?? []).forEach((call, index) => {
    items.push({ type: 'function_call', id: `fc_${base}_${index}`, call_id: call.id, name: call.function.name, arguments: call.function.arguments, status: 'completed' });
  });
  return items;
}
