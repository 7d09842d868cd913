// Prompt token counts: OpenAI's exact billing rule (tiktoken) and a cheap bound never below any provider's count.
import type { ChatMessage, ChatRequest, ToolDefinition } from './chat-types.js';

export type EncodingName = 'o200k_base' | 'cl100k_base';

/**
 * Tokens reserved for one image (or other non-text part) when its pixels are not inspected. The largest
 * per-image bills we know of, for the most tiles/patches an image is resized to: gpt-4o high detail 1,445
 * (85 + 170 x 8 tiles), gpt-4.1-nano 3,779 (1,536 patches x 2.46), Claude 3,278 (1568x1568 px / 750),
 * Gemini 258 per 768 px tile. gpt-4o-mini bills images at about 33x the tokens (2,833 + 5,667 per tile, up to
 * 48,169), so it has its own bound. All per OpenAI's "Images and vision" and Anthropic's "Vision" guides.
 */
export const imageTokenBound = 6_000;
export const miniImageTokenBound = 48_169;

/**
 * Fixed allowances the bound adds for framing that providers with non-public tokenizers put around a request:
 * Anthropic's tool-use system prompt is 264-346 tokens (Anthropic "Tool use" pricing table), reserved here as 400;
 * 32 more per request for system framing.
 */
export const toolsSystemPromptBound = 400;
export const requestFramingBound = 32;

/** OpenAI's per-message rule (cookbook "How to count tokens with tiktoken" §6): 3 per message, 1 per name, 3 reply priming. */
const tokensPerMessage = 3;
const tokensPerName = 1;
const replyPriming = 3;
/** Cookbook §7: tool definitions cost 7-10 tokens per function (10 is used: the larger) and 12 at the end. */
const tokensPerFunction = 10;
const tokensAfterFunctions = 12;
/** An assistant tool call's framing (id, type, braces) beyond its name and arguments: conservative allowance. */
const tokensPerToolCall = 8;

/** Model names seen, with their encoding (null: none public); a handful per config, so a Map is enough. */
const modelEncodings = new Map<string, EncodingName | null>();

/** The tiktoken encoding of an OpenAI model, or undefined when the model's tokenizer is not public. */
export function encodingForModel(model: string): EncodingName | undefined {
  let encoding = modelEncodings.get(model);
  if (encoding === undefined) {
    const name = model.toLowerCase().replace(/^openai\//, '');
    if (/^(gpt-4o|chatgpt-4o|gpt-4\.[15]|gpt-5|o[134](-|$))/.test(name)) encoding = 'o200k_base';
    else if (/^(gpt-4|gpt-3\.5-turbo|gpt-35-turbo)/.test(name)) encoding = 'cl100k_base';
    else encoding = null;
    // Bounded: model names come from config, but a request's own `model` may be anything.
    if (modelEncodings.size >= 1000) modelEncodings.clear();
    modelEncodings.set(model, encoding);
  }
  return encoding ?? undefined;
}

export function hasExactTokenizer(model: string): boolean {
  return encodingForModel(model) !== undefined;
}

function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Tokens of one text, as a tokenizer counts them. */
export type Count = (text: string) => number;

/**
 * The longest run of one kind of character (letters and marks, punctuation and symbols, or white space) handed to a
 * tokenizer. BPE's work grows with the square of a pre-token's length, and tiktoken's pre-tokens are runs of one kind
 * (a long word, a CJK sentence, a row of '!'), so bounding the runs bounds the work.
 */
export const longestEncodedRun = 64;
/** Characters of one request handed to a tokenizer; the rest count as their UTF-8 bytes. */
export const encodedCharactersPerRequest = 65_536;
/** Added for each long run counted by its bytes: a space or newline next to it may join its pre-token. */
const longRunAllowance = 2;
const longer = `{${longestEncodedRun + 1},}`;
const longRuns = new RegExp(`[\\p{L}\\p{M}]${longer}|[^\\s\\p{L}\\p{N}]${longer}|\\s${longer}`, 'gu');

/**
 * A count that is exact for ordinary text and an upper bound otherwise, with bounded work: runs longer than
 * `longestEncodedRun` count as their UTF-8 bytes (a token is at least one byte), and once `budget` characters have been
 * tokenized the rest counts as bytes too. One counter per request: the budget is spent as it counts.
 */
export function boundedCount(encode: Count, budget: number = encodedCharactersPerRequest): Count {
  let remaining = budget;
  return (text) => {
    if (text.length === 0) return 0;
    if (text.length > remaining) {
      remaining = 0;
      return utf8Bytes(text);
    }
    remaining -= text.length;
    longRuns.lastIndex = 0;
    let match = longRuns.exec(text);
    if (match === null) return encode(text);
    let total = 0;
    let start = 0;
    while (match !== null) {
      if (match.index > start) total += encode(text.slice(start, match.index));
      total += utf8Bytes(match[0]) + longRunAllowance;
      start = match.index + match[0].length;
      match = longRuns.exec(text);
    }
    if (start < text.length) total += encode(text.slice(start));
    return total;
  };
}

function stripPeriod(text: string): string {
  return text.endsWith('.') ? text.slice(0, -1) : text;
}

interface PropertyLike { type?: unknown; description?: unknown; enum?: unknown }

/**
 * Tool definitions: the larger of the cookbook §7 formula (which matched OpenAI's bill for its example) and
 * name + description + the JSON of the parameters schema (which also covers nested schemas the formula ignores).
 */
function countTools(tools: ToolDefinition[], count: Count): number {
  let formula = 0;
  let json = 0;
  for (const tool of tools) {
    const definition = tool.function ?? { name: '' };
    const name = typeof definition.name === 'string' ? definition.name : '';
    const description = typeof definition.description === 'string' ? definition.description : '';
    formula += tokensPerFunction + count(`${name}:${stripPeriod(description)}`);
    json += tokensPerFunction + count(name) + count(description) + count(JSON.stringify(definition.parameters ?? {}));
    const properties = (definition.parameters?.properties ?? {}) as Record<string, PropertyLike>;
    const keys = Object.keys(properties);
    if (keys.length > 0) formula += 3;
    for (const key of keys) {
      const property = properties[key] ?? {};
      formula += 3;
      if (Array.isArray(property.enum)) {
        for (const item of property.enum) formula += 3 + count(String(item));
      }
      formula += count(`${key}:${String(property.type ?? '')}:${stripPeriod(String(property.description ?? ''))}`);
    }
  }
  return Math.max(formula, json) + tokensAfterFunctions;
}

function countMessage(message: ChatMessage, count: Count, imageTokens: number): number {
  let total = tokensPerMessage;
  // Every string field counts, as in the cookbook's `for key, value in message.items()` (keys, not entries: no pair
  // arrays to allocate on every request).
  for (const key of Object.keys(message)) {
    const value = (message as unknown as Record<string, unknown>)[key];
    if (typeof value === 'string') {
      total += count(value);
      if (key === 'name') total += tokensPerName;
    } else if (key === 'content' && Array.isArray(value)) {
      for (const part of value as { type?: unknown; text?: unknown }[]) {
        if (part && typeof part.text === 'string') total += count(part.text);
        else if (part && part.type === 'image_url') total += imageTokens;
        // Audio, files and unknown parts: their JSON plus an image's allowance, so a bound is never short.
        else total += count(JSON.stringify(part ?? null)) + imageTokens;
      }
    } else if (key === 'tool_calls' && Array.isArray(value)) {
      for (const call of value as { id?: unknown; function?: { name?: unknown; arguments?: unknown } }[]) {
        total += tokensPerToolCall;
        if (typeof call?.id === 'string') total += count(call.id);
        if (typeof call?.function?.name === 'string') total += count(call.function.name);
        if (typeof call?.function?.arguments === 'string') total += count(call.function.arguments);
      }
    }
  }
  return total;
}

/** Extra prompt OpenAI adds for structured output and a forced tool: their JSON, counted in full. */
function countRequestExtras(request: ChatRequest, count: Count): number {
  let total = 0;
  if (request.response_format && request.response_format.type === 'json_schema') total += count(JSON.stringify(request.response_format));
  if (request.tool_choice && typeof request.tool_choice === 'object') total += count(JSON.stringify(request.tool_choice));
  return total;
}

function countRequest(request: ChatRequest, count: Count, imageTokens: number): number {
  let total = replyPriming;
  for (const message of request.messages) total += countMessage(message, count, imageTokens);
  if (request.tools && request.tools.length > 0) total += countTools(request.tools, count);
  return total + countRequestExtras(request, count);
}

/** The per-image allowance for a model (gpt-4o-mini bills images at many more tokens). */
export function imageTokensFor(model: string): number {
  return /gpt-4o-mini/i.test(model) ? miniImageTokenBound : imageTokenBound;
}

/**
 * Prompt tokens as OpenAI bills a chat request to `model`: `encode` is the model's tiktoken encoding (loaded by the
 * caller; see src/providers/openai/tokenizer.ts) and the per-message rule of OpenAI's cookbook ("How to count tokens
 * with tiktoken" §6: 129 tokens for its example with gpt-3.5-turbo and gpt-4, 124 with gpt-4o and gpt-4o-mini).
 * Ordinary text is exact; tools, images, other parts and pathologically long runs are counted conservatively (never
 * below the bill), so the work stays bounded whatever the client sends.
 */
export function countPromptTokens(request: ChatRequest, model: string, encode: Count): number {
  return countRequest(request, boundedCount(encode), imageTokensFor(model));
}

/**
 * A prompt-token count never below what any provider bills: every token is at least one byte of UTF-8
 * (BPE and SentencePiece tokens alike), so the OpenAI rule with bytes in place of tokens bounds it, plus
 * fixed allowances for framing that non-public tokenizers add (see the constants above). Costs one pass over
 * the strings, no tokenizer. Pass the upstream `model` when it differs from `request.model` (an alias): image
 * allowances depend on it.
 */
export function promptTokenUpperBound(request: ChatRequest, model: string = request.model): number {
  let total = countRequest(request, utf8Bytes, imageTokensFor(String(model ?? '')));
  total += requestFramingBound;
  if (request.tools && request.tools.length > 0) total += toolsSystemPromptBound;
  return total;
}
