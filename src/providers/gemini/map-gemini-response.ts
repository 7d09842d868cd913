// Gemini GenerateContentResponse -> OpenAI ChatResponse: candidates to choices, finish reasons, usage (thoughts billed as output); pure.
import type { ChatChoice, ChatResponse, FinishReason, ToolCall, Usage } from '../../core/chat-types.js';
import { usageToOpenAI } from '../../core/chat-types.js';
import type { GoogleToolCallExtra } from './convert-to-gemini-request.js';
import type { GeminiCandidate, GeminiResponse, GeminiResponsePart, GeminiUsage } from './gemini-api-schema.js';

/** What a mapping needs from outside: the fallback response id, the time, and fresh tool-call ids. */
export interface GeminiMappingContext {
  id: string;
  created: number;
  /** The model asked for; the response's modelVersion wins when present. */
  model: string;
  newToolCallId(): string;
}

/** Finish reasons (https://ai.google.dev/api/generate-content#FinishReason) that mean content was blocked. */
const filtered = new Set(['SAFETY', 'RECITATION', 'LANGUAGE', 'BLOCKLIST', 'PROHIBITED_CONTENT', 'SPII', 'IMAGE_SAFETY', 'IMAGE_PROHIBITED_CONTENT', 'IMAGE_RECITATION']);

/**
 * STOP -> stop (tool_calls when the candidate called functions), MAX_TOKENS -> length, safety-like -> content_filter,
 * anything else (OTHER, MALFORMED_FUNCTION_CALL, unknown future values) -> stop.
 */
export function mapGeminiFinishReason(reason: string | undefined, hasToolCalls: boolean): FinishReason {
  if (reason === 'MAX_TOKENS') return 'length';
  if (reason !== undefined && filtered.has(reason)) return 'content_filter';
  return hasToolCalls ? 'tool_calls' : 'stop';
}

/**
 * usageMetadata -> normalised usage. promptTokenCount already includes cached content (the docs say it is the
 * "total effective prompt size"); tool-use prompt tokens are input too. Google bills thoughts as output,
 * so thoughtsTokenCount is added to the output (and reported as reasoning).
 */
export function mapGeminiUsage(usage: GeminiUsage): Usage {
  const thoughts = usage.thoughtsTokenCount ?? 0;
  return {
    inputTokens: (usage.promptTokenCount ?? 0) + (usage.toolUsePromptTokenCount ?? 0),
    outputTokens: (usage.candidatesTokenCount ?? 0) + thoughts,
    cachedInputTokens: usage.cachedContentTokenCount ?? 0,
    cacheWriteTokens: 0,
    reasoningTokens: thoughts,
  };
}

/** A function call part as an OpenAI tool call, keeping Gemini's thought signature where Google's OpenAI layer puts it. */
export function toolCallFromPart(part: GeminiResponsePart, id: string): ToolCall & GoogleToolCallExtra {
  const call: ToolCall & GoogleToolCallExtra = {
    id,
    type: 'function',
    function: { name: part.functionCall?.name ?? '', arguments: JSON.stringify(part.functionCall?.args ?? {}) },
  };
  if (part.thoughtSignature) call.extra_content = { google: { thought_signature: part.thoughtSignature } };
  return call;
}

/** Text of the visible answer: thought summaries (thought: true) are not part of it. */
export function isAnswerText(part: GeminiResponsePart): part is GeminiResponsePart & { text: string } {
  return typeof part.text === 'string' && part.thought !== true;
}

export function mapGeminiResponse(response: GeminiResponse, context: GeminiMappingContext): { response: ChatResponse; usage: Usage | undefined } {
  const candidates = response.candidates ?? [];
  const choices: ChatChoice[] = candidates.map((candidate, position) => mapCandidate(candidate, position, context));
  if (choices.length === 0) {
    // No candidate at all: the prompt itself was blocked (promptFeedback.blockReason).
    choices.push({ index: 0, message: { role: 'assistant', content: null }, finish_reason: response.promptFeedback?.blockReason ? 'content_filter' : 'stop', logprobs: null });
  }
  const usage = response.usageMetadata ? mapGeminiUsage(response.usageMetadata) : undefined;
  const chat: ChatResponse = {
    id: response.responseId ? `chatcmpl-${response.responseId}` : context.id,
    object: 'chat.completion',
    created: context.created,
    model: response.modelVersion ?? context.model,
    choices,
  };
  if (usage) chat.usage = usageToOpenAI(usage);
  return { response: chat, usage };
}

function mapCandidate(candidate: GeminiCandidate, position: number, context: GeminiMappingContext): ChatChoice {
  const parts = candidate.content?.parts ?? [];
  const text = parts.filter(isAnswerText).map((part) => part.text).join('');
  const toolCalls = parts.filter((part) => part.functionCall).map((part) => toolCallFromPart(part, part.functionCall?.id ?? context.newToolCallId()));
  const message: ChatChoice['message'] = { role: 'assistant', content: text === '' && toolCalls.length > 0 ? null : text };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  return {
    index: candidate.index ?? position,
    message,
    finish_reason: mapGeminiFinishReason(candidate.finishReason, toolCalls.length > 0),
    logprobs: null,
  };
}
