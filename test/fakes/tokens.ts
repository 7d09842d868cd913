// Deterministic rules shared by the fake upstreams: token counting (OpenAI's cookbook rule, or a cheap bytes rule) and generated content.
// The fakes count with js-tiktoken, a JavaScript port: an implementation independent of the gateway's (tiktoken, WASM),
// so a test that compares the gateway's exact count with a fake's bill checks one against the other.
import { createRequire } from 'node:module';
import { Tiktoken, type TiktokenBPE } from 'js-tiktoken/lite';

/**
 * 'tiktoken': real BPE counts (o200k_base or cl100k_base by model), as OpenAI bills.
 * 'bytes': one token per 4 UTF-8 bytes, rounded up: no tokenizer load, for the benchmark.
 */
export type TokenCounting = 'tiktoken' | 'bytes';
export type EncodingName = 'o200k_base' | 'cl100k_base';

const require = createRequire(import.meta.url);
const encoders = new Map<EncodingName, Tiktoken>();

/** gpt-4o*, gpt-4.1*, gpt-4.5*, gpt-5*, o-series and unknown models use o200k_base; gpt-4, gpt-3.5 and embeddings use cl100k_base. */
export function encodingNameFor(model: string): EncodingName {
  const name = model.toLowerCase();
  if (/^(gpt-4o|chatgpt-4o|gpt-4\.[15]|gpt-5|o\d)/.test(name)) return 'o200k_base';
  if (name.startsWith('gpt-4') || name.startsWith('gpt-3.5') || name.startsWith('text-embedding')) return 'cl100k_base';
  return 'o200k_base';
}

/** The encoder, loaded on first use (loading o200k takes about a second) and cached for the process. */
export function encoderFor(model: string): Tiktoken {
  const encoding = encodingNameFor(model);
  let encoder = encoders.get(encoding);
  if (!encoder) {
    const ranks = require(`js-tiktoken/ranks/${encoding}`) as TiktokenBPE | { default: TiktokenBPE };
    encoder = new Tiktoken('default' in ranks ? ranks.default : ranks);
    encoders.set(encoding, encoder);
  }
  return encoder;
}

/** Special-token text ("<|endoftext|>") counts as plain text, as it does in a user's message. */
function encode(text: string, model: string): number[] {
  return encoderFor(model).encode(text, [], []);
}

const countCache = new Map<string, number>();
const countCacheLimit = 8192;

/** Tokens in a text; short texts are cached (the benchmark sends the same prompt over and over). */
export function countText(text: string, model: string, counting: TokenCounting): number {
  if (text.length === 0) return 0;
  if (counting === 'bytes') return Math.ceil(Buffer.byteLength(text) / 4);
  if (text.length > 2000) return encode(text, model).length;
  const key = `${encodingNameFor(model)}\u0000${text}`;
  let count = countCache.get(key);
  if (count === undefined) {
    count = encode(text, model).length;
    if (countCache.size >= countCacheLimit) countCache.clear();
    countCache.set(key, count);
  }
  return count;
}

interface MessageLike { [key: string]: unknown }
interface ToolLike { type?: string; function?: { name?: string; description?: string; parameters?: { properties?: Record<string, { type?: unknown; description?: string; enum?: unknown[] }> } } }

/** Fixed charge for an image part: OpenAI's low-detail price (85 tokens); the fake does not look at pixels. */
export const imagePartTokens = 85;

/**
 * Prompt tokens as OpenAI bills them, by the rule of OpenAI's cookbook "How to count tokens with tiktoken" §6-7:
 * 3 per message + tokens of every string field (role, content, name, tool_call_id) + 1 per name + 3 reply priming,
 * plus the tool-definition formula of §7 when tools are given. Assistant tool_calls count as name + arguments.
 * @example countChatPrompt([{role: 'user', content: 'hello'}], undefined, 'gpt-4o-mini', 'tiktoken') // 3 + 1 + 1 + 3 = 8
 */
export function countChatPrompt(messages: MessageLike[], tools: ToolLike[] | undefined, model: string, counting: TokenCounting): number {
  let total = 3;
  for (const message of messages) {
    total += 3;
    for (const [key, value] of Object.entries(message)) {
      if (typeof value === 'string') {
        total += countText(value, model, counting);
        if (key === 'name') total += 1;
      } else if (key === 'content' && Array.isArray(value)) {
        for (const part of value as { type?: string; text?: string }[]) {
          if (typeof part?.text === 'string') total += countText(part.text, model, counting);
          else if (part?.type === 'image_url') total += imagePartTokens;
        }
      } else if (key === 'tool_calls' && Array.isArray(value)) {
        for (const call of value as { function?: { name?: string; arguments?: string } }[]) {
          total += countText(call.function?.name ?? '', model, counting) + countText(call.function?.arguments ?? '', model, counting);
        }
      }
    }
  }
  if (tools && tools.length > 0) total += countTools(tools, model, counting);
  return total;
}

/** Cookbook §7: per function 7 (10 for gpt-4/gpt-3.5) + "name:description"; per property 3 + "name:type:description"; enums; 12 at the end. */
function countTools(tools: ToolLike[], model: string, counting: TokenCounting): number {
  const functionInit = encodingNameFor(model) === 'cl100k_base' ? 10 : 7;
  let total = 0;
  for (const tool of tools) {
    const definition = tool.function;
    if (!definition) continue;
    total += functionInit;
    total += countText(`${definition.name ?? ''}:${stripPeriod(definition.description ?? '')}`, model, counting);
    const properties = definition.parameters?.properties ?? {};
    const keys = Object.keys(properties);
    if (keys.length > 0) {
      total += 3;
      for (const key of keys) {
        const property = properties[key] ?? {};
        total += 3;
        if (Array.isArray(property.enum)) {
          total -= 3;
          for (const item of property.enum) total += 3 + countText(String(item), model, counting);
        }
        total += countText(`${key}:${String(property.type ?? '')}:${stripPeriod(property.description ?? '')}`, model, counting);
      }
    }
  }
  return total + 12;
}

function stripPeriod(text: string): string {
  return text.endsWith('.') ? text.slice(0, -1) : text;
}

const pieceCache = new Map<string, string[]>();
const pieceCacheLimit = 4096;

/**
 * The first `count` tokens of `source` repeated (space-joined) until long enough, as text pieces one token each.
 * Non-ASCII characters are replaced by '?' first, so every piece is whole text. Cached: the benchmark repeats prompts.
 */
export function generatePieces(source: string, count: number, model: string, counting: TokenCounting): string[] {
  if (count <= 0) return [];
  const key = `${counting === 'bytes' ? 'bytes' : encodingNameFor(model)}\u0000${count}\u0000${source}`;
  const cached = pieceCache.get(key);
  if (cached) return cached;
  const ascii = source.replace(/[^\x20-\x7e]/g, '?').trim() || 'Hello';
  let text = ascii;
  let pieces: string[];
  for (;;) {
    pieces = splitPieces(text, model, counting);
    if (pieces.length >= count) break;
    text = `${text} ${text}`;
  }
  pieces = pieces.slice(0, count);
  if (pieceCache.size >= pieceCacheLimit) pieceCache.clear();
  pieceCache.set(key, pieces);
  return pieces;
}

/** Text split into one piece per token. */
export function splitPieces(text: string, model: string, counting: TokenCounting): string[] {
  if (counting === 'bytes') {
    // ASCII only here (generatePieces cleans its input), so 4 characters are 4 bytes.
    const pieces: string[] = [];
    for (let start = 0; start < text.length; start += 4) pieces.push(text.slice(start, start + 4));
    return pieces;
  }
  const encoder = encoderFor(model);
  return encode(text, model).map((token) => encoder.decode([token]));
}

/** The text of the last user message (text parts joined), or '' when there is none. */
export function lastUserText(messages: { role?: unknown; content?: unknown }[]): string {
  for (let index = messages.length - 1; index >= 0; index--) {
    const message = messages[index];
    if (message.role !== 'user') continue;
    if (typeof message.content === 'string') return message.content;
    if (Array.isArray(message.content)) {
      return (message.content as { text?: unknown }[]).map((part) => (typeof part?.text === 'string' ? part.text : '')).join('');
    }
    return '';
  }
  return '';
}

interface SchemaLike { type?: unknown; properties?: Record<string, SchemaLike>; enum?: unknown[]; items?: SchemaLike }

/**
 * Deterministic JSON for a JSON schema: each property by type: string -> the first enum value or the user's text
 * (first 40 characters), number/integer -> 42, boolean -> true, array -> [], object -> recursively, other -> null.
 * @example argumentsFor({type: 'object', properties: {city: {type: 'string'}}}, 'Paris') // {city: 'Paris'}
 */
export function argumentsFor(schema: SchemaLike | Record<string, unknown> | undefined, text: string): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  const properties = (schema as SchemaLike | undefined)?.properties ?? {};
  for (const [key, property] of Object.entries(properties)) result[key] = valueFor(property, text);
  return result;
}

function valueFor(schema: SchemaLike, text: string): unknown {
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (type === 'string') return text.slice(0, 40);
  if (type === 'number' || type === 'integer') return 42;
  if (type === 'boolean') return true;
  if (type === 'array') return [];
  if (type === 'object') return argumentsFor(schema, text);
  return null;
}

/** A unit-length vector derived from the text alone (FNV-1a seed, xorshift steps): same text, same vector. */
export function embeddingVector(text: string, dimensions: number): number[] {
  let seed = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) seed = Math.imul(seed ^ text.charCodeAt(index), 0x01000193) >>> 0;
  if (seed === 0) seed = 1;
  const vector = new Array<number>(dimensions);
  let norm = 0;
  for (let index = 0; index < dimensions; index++) {
    seed ^= seed << 13; seed >>>= 0;
    seed ^= seed >>> 17;
    seed ^= seed << 5; seed >>>= 0;
    const value = seed / 0xffffffff - 0.5;
    vector[index] = value;
    norm += value * value;
  }
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  for (let index = 0; index < dimensions; index++) vector[index] = Math.fround(vector[index] * scale);
  return vector;
}

/** The pieces up to the first stop sequence, or undefined when no stop sequence occurs. */
export function cutAtStop(pieces: string[], stops: string[]): string[] | undefined {
  if (stops.length === 0) return undefined;
  const text = pieces.join('');
  let at = -1;
  for (const stop of stops) {
    const found = stop === '' ? -1 : text.indexOf(stop);
    if (found >= 0 && (at < 0 || found < at)) at = found;
  }
  if (at < 0) return undefined;
  const kept: string[] = [];
  let offset = 0;
  for (const piece of pieces) {
    if (offset >= at) break;
    kept.push(offset + piece.length <= at ? piece : piece.slice(0, at - offset));
    offset += piece.length;
  }
  return kept;
}
