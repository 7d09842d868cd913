// The mock provider's deterministic answers: pure functions of the request, so tests and CI pipelines can predict them.
import { createHash } from 'node:crypto';
import { embedText } from '../../core/embedding.js';
import type { ChatMessage, ChatRequest, ChatResponse, FinishReason, ToolCall, Usage } from '../../core/chat-types.js';

/** Text of a message's content, parts joined. */
export function messageText(message: ChatMessage): string {
  const content = message.content;
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content.map((part) => (part.type === 'text' && typeof part.text === 'string' ? part.text : '')).join(' ');
  }
  return '';
}

/**
 * Prompt tokens as the mock bills them: one per 4 bytes of text (rounded up), plus 3 per message and 3 for
 * the reply, like OpenAI's framing. Never more than the byte count a budget bound would assume.
 */
export function mockPromptTokens(request: ChatRequest): number {
  let total = 3;
  for (const message of request.messages) {
    total += 3 + Math.ceil(Buffer.byteLength(messageText(message) + (message.name ?? ''), 'utf8') / 4);
    if (message.tool_calls) total += Math.ceil(Buffer.byteLength(JSON.stringify(message.tool_calls), 'utf8') / 4);
  }
  if (request.tools) total += Math.ceil(Buffer.byteLength(JSON.stringify(request.tools), 'utf8') / 4);
  return total;
}

export interface MockChoice {
  /** Output tokens, one word each (a leading space joins them). */
  words: string[];
  finishReason: FinishReason;
  toolCalls?: ToolCall[];
  json: boolean;
}

function lastUserText(request: ChatRequest): string {
  for (let index = request.messages.length - 1; index >= 0; index--) {
    const message = request.messages[index]!;
    if (message.role === 'user') return messageText(message);
  }
  return '';
}

/** Plan one choice: the reply echoes the prompt's words, up to the output length and max_tokens. */
export function planChoice(request: ChatRequest, index: number, outputTokens: number): MockChoice {
  const limit = request.max_completion_tokens ?? request.max_tokens ?? undefined;
  const last = request.messages[request.messages.length - 1];
  const wantsTool = request.tools && request.tools.length > 0 && request.tool_choice !== 'none' && last?.role !== 'tool';
  if (wantsTool) {
    const tool = pickTool(request);
    const argumentsText = JSON.stringify({ input: lastUserText(request).slice(0, 200) });
    const toolCall: ToolCall = { id: `call_mock_${index}_${hash(argumentsText).slice(0, 12)}`, type: 'function', function: { name: tool, arguments: argumentsText } };
    return { words: [], finishReason: 'tool_calls', toolCalls: [toolCall], json: false };
  }
  const json = request.response_format?.type === 'json_object' || request.response_format?.type === 'json_schema';
  const source = lastUserText(request).split(/\s+/).filter(Boolean);
  const seed = source.length > 0 ? source : ['mock'];
  const words: string[] = ['Mock', `reply${index > 0 ? ` ${index}` : ''}:`];
  for (let position = 0; words.length < outputTokens; position++) words.push(seed[position % seed.length]!);
  let finishReason: FinishReason = 'stop';
  let text = words.slice(0, outputTokens);
  if (limit !== undefined && limit !== null && limit < text.length) {
    text = text.slice(0, limit);
    finishReason = 'length';
  }
  const stops = request.stop === undefined || request.stop === null ? [] : Array.isArray(request.stop) ? request.stop : [request.stop];
  if (stops.length > 0) {
    const joined = text.join(' ');
    const cut = Math.min(...stops.map((stop) => { const at = joined.indexOf(stop); return at < 0 ? Number.POSITIVE_INFINITY : at; }));
    if (Number.isFinite(cut)) {
      text = joined.slice(0, cut).split(' ').filter(Boolean);
      finishReason = 'stop';
    }
  }
  return { words: text, finishReason, json };
}

function pickTool(request: ChatRequest): string {
  const choice = request.tool_choice as { function?: { name?: string } } | string | undefined;
  if (choice && typeof choice === 'object' && choice.function?.name) return choice.function.name;
  return request.tools![0]!.function.name;
}

/** The content string of a planned choice. */
export function choiceText(choice: MockChoice): string {
  const text = choice.words.join(' ');
  return choice.json ? JSON.stringify({ reply: text }) : text;
}

export function choiceTokens(choice: MockChoice): number {
  if (choice.toolCalls) return Math.ceil(Buffer.byteLength(JSON.stringify(choice.toolCalls), 'utf8') / 4);
  return choice.words.length + (choice.json ? 4 : 0);
}

export function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function buildResponse(request: ChatRequest, choices: MockChoice[], id: string, created: number): { response: ChatResponse; usage: Usage } {
  const inputTokens = mockPromptTokens(request);
  const outputTokens = choices.reduce((sum, choice) => sum + choiceTokens(choice), 0);
  const usage: Usage = { inputTokens, outputTokens, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 };
  const response: ChatResponse = {
    id,
    object: 'chat.completion',
    created,
    model: request.model,
    system_fingerprint: 'fp_mock',
    choices: choices.map((choice, index) => ({
      index,
      message: choice.toolCalls
        ? { role: 'assistant', content: null, tool_calls: choice.toolCalls, refusal: null }
        : { role: 'assistant', content: choiceText(choice), refusal: null },
      finish_reason: choice.finishReason,
      logprobs: null,
    })),
    usage: {
      prompt_tokens: inputTokens,
      completion_tokens: outputTokens,
      total_tokens: inputTokens + outputTokens,
      prompt_tokens_details: { cached_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0 },
    },
  };
  return { response, usage };
}

/** The mock's embedding of a text: the built-in hashed n-gram embedding, so similar texts get similar vectors offline. */
export function mockEmbedding(text: string, dimensions: number): number[] {
  return embedText(text, dimensions);
}
