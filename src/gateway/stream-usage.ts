// Whether a provider's reported usage is believable for what it streamed: each chunk that carries output is at least one token.
import type { ChatChunk } from '../core/chat-types.js';
import type { Usage } from '../core/chat-types.js';
import { WireChunk } from '../providers/wire-chunk.js';

/** Text, a refusal or a tool call in a chunk passed through as text, found without parsing it (a non-empty string value). */
const outputInText = /"(?:content|refusal|arguments)":"[^"]/;

/**
 * Whether a chunk carries output. A chunk passed through as text is searched, not parsed (most chunks never are);
 * a translated chunk (Anthropic, Gemini, a Responses event) is read. Used only to count: a wrong yes on a strange
 * chunk can only make the gateway distrust a usage and charge the worst case, never charge less.
 */
export function carriesOutput(chunk: ChatChunk): boolean {
  if (chunk instanceof WireChunk) return outputInText.test(chunk.raw);
  if (chunk.choices === undefined) return typeof (chunk as { delta?: unknown }).delta === 'string';
  for (const choice of chunk.choices) {
    const delta = choice.delta;
    if (delta && (delta.content || delta.refusal || (delta.tool_calls && delta.tool_calls.length > 0))) return true;
  }
  return false;
}

/**
 * The usage to meter a stream by: the provider's own, unless it reports fewer output tokens than the chunks of
 * output it sent (each is at least one token), which contradicts the stream. Then it is not trusted and the call is
 * metered at its worst case (undefined), so the spend is never under what the provider bills for what it sent.
 */
export function credibleUsage(usage: Usage | undefined, outputChunks: number): Usage | undefined {
  if (usage && usage.outputTokens < outputChunks) return undefined;
  return usage;
}
