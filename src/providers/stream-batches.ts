// Helpers between batches (a provider stream's chunks or SSE messages, grouped by read) and one-by-one iteration.

/** Each item as a batch of its own: for sources whose items come one at a time (a mock, a test's list of events). */
export async function* batchesOfOne<T>(items: AsyncIterable<T>): AsyncGenerator<T[]> {
  for await (const item of items) yield [item];
}

/** The items of batches, one by one, in order. */
export async function* eachOf<T>(batches: AsyncIterable<T[]>): AsyncGenerator<T> {
  for await (const batch of batches) yield* batch;
}
