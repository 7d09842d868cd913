// An upper bound on a request's prompt tokens (never below what any provider bills), for chat and embeddings alike.
import type { ChatRequest, EmbeddingRequest } from '../core/chat-types.js';
import { promptTokenUpperBound } from '../core/tokens.js';
import type { CallContext } from './context.js';

declare module './context.js' {
  interface StageState {
    /** The prompt's upper bound, computed by the first stage that needs it (guards, then the budget) and shared. */
    promptBound?: number;
  }
}

export function promptBound(request: ChatRequest | EmbeddingRequest): number {
  if ('messages' in request) return promptTokenUpperBound(request as ChatRequest);
  // A token is at least one byte of text; token-id inputs are one token per number.
  const input = request.input;
  if (typeof input === 'string') return Buffer.byteLength(input, 'utf8') + 1;
  return (input as unknown[]).reduce<number>((sum, item) => sum + (typeof item === 'string' ? Buffer.byteLength(item, 'utf8') + 1 : Array.isArray(item) ? item.length : 1), 0);
}

/** The admitted request's prompt bound (for its pinned version), computed once however many stages ask. */
export function requestPromptBound(context: CallContext): number {
  let bound = context.state.promptBound;
  if (bound === undefined) {
    bound = context.route === 'embeddings' ? promptBound(context.upstreamRequest) : promptTokenUpperBound(context.upstreamRequest as ChatRequest, context.model.version);
    context.state.promptBound = bound;
  }
  return bound;
}
