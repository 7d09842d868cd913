// A cheap upper bound on prompt tokens for metering when a provider reports no usage: a token is at least one byte.
import type { ChatRequest, EmbeddingRequest } from '../core/chat-types.js';

export function promptBound(request: ChatRequest | EmbeddingRequest): number {
  if ('messages' in request) {
    return Buffer.byteLength(JSON.stringify(request.messages), 'utf8') + (request.tools ? Buffer.byteLength(JSON.stringify(request.tools), 'utf8') : 0);
  }
  return Buffer.byteLength(JSON.stringify(request.input), 'utf8');
}
