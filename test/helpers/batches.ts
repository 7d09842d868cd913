// Test helper: the items of a provider stream's batches, one by one, in order.
export async function* eachOf<T>(batches: AsyncIterable<T[]>): AsyncGenerator<T> {
  for await (const batch of batches) yield* batch;
}
