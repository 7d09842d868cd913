// Helpers between a provider stream's batches of chunks (ChatStream.batches) and chunk-by-chunk iteration.
import type { ChatChunk } from '../core/chat-types.js';

/** Each chunk as a batch of its own: for adapters whose chunks come one at a time (a mock, or one per mapped event). */
export async function* batchesOfOne(chunks: AsyncIterable<ChatChunk>): AsyncGenerator<ChatChunk[]> {
  for await (const chunk of chunks) yield [chunk];
}

/** The chunks of a stream's batches, one by one, in order. */
export async function* eachChunk(batches: AsyncIterable<ChatChunk[]>): AsyncGenerator<ChatChunk> {
  for await (const batch of batches) yield* batch;
}
