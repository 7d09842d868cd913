// OpenAI's tokenizers (tiktoken, compiled to WASM) loaded from the installed package, and exact prompt counts with them.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Tiktoken } from 'tiktoken/lite';
import type { ChatRequest } from '../../core/chat-types.js';
import { countPromptTokens, encodingForModel, type EncodingName } from '../../core/tokens.js';

const require = createRequire(import.meta.url);
const encoders = new Map<EncodingName, Tiktoken>();

/**
 * Loaded on first use, never at import. tiktoken's own Rust encoder keeps its rank tables in WASM memory, outside the
 * JavaScript heap, so they add nothing to garbage collection.
 */
function encoderFor(encoding: EncodingName): Tiktoken {
  let encoder = encoders.get(encoding);
  if (!encoder) {
    const { Tiktoken: Encoder } = require('tiktoken/lite') as typeof import('tiktoken/lite');
    // Read, not required: the parsed file is garbage once the encoder holds the ranks.
    const data = JSON.parse(readFileSync(require.resolve(`tiktoken/encoders/${encoding}.json`), 'utf8')) as
      { bpe_ranks: string; special_tokens: Record<string, number>; pat_str: string };
    encoder = new Encoder(data.bpe_ranks, data.special_tokens, data.pat_str);
    encoders.set(encoding, encoder);
  }
  return encoder;
}

/** Load an encoding now (e.g. at start) so the first request near a limit does not pay for it. */
export function preloadEncoding(encoding: EncodingName): void {
  encoderFor(encoding);
}

/** Tokens of one text with an encoding; special-token text ("<|endoftext|>") is plain text to the API, so it is encoded as text. */
export function encodeCount(encoding: EncodingName): (text: string) => number {
  const encoder = encoderFor(encoding);
  return (text) => encoder.encode(text, [], []).length;
}

/**
 * Prompt tokens as OpenAI bills a chat request to `model` (see countPromptTokens). Throws for a model whose tokenizer
 * is not public.
 */
export function countPromptTokensExact(request: ChatRequest, model: string): number {
  const encoding = encodingForModel(model);
  if (!encoding) throw new Error(`No public tokenizer for model "${model}"; use promptTokenUpperBound`);
  return countPromptTokens(request, model, encodeCount(encoding));
}
