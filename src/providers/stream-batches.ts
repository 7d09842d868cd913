// Batches of a provider stream (ChatStream.batches): translating them read by read, and one-item batches.

/**
 * Translate batches item by item: `translate` adds an item's outputs to the batch it is given, and returns true to
 * stop (the stream is complete). Each input batch gives one output batch (none when empty). When `translate` throws,
 * the outputs of the items before it in the same batch are yielded first, as they would have been one by one.
 * Returns whether `translate` stopped the stream.
 */
export async function* translateBatches<In, Out>(batches: AsyncIterable<In[]>, translate: (item: In, outputs: Out[]) => boolean): AsyncGenerator<Out[], boolean> {
  for await (const items of batches) {
    const outputs: Out[] = [];
    let stopped = false;
    try {
      for (const item of items) {
        if (translate(item, outputs)) {
          stopped = true;
          break;
        }
      }
    } catch (error) {
      if (outputs.length > 0) yield outputs;
      throw error;
    }
    if (outputs.length > 0) yield outputs;
    if (stopped) return true;
  }
  return false;
}

/** Each item as a batch of its own: for sources whose items come one at a time (the mock provider). */
export async function* batchesOfOne<T>(items: AsyncIterable<T>): AsyncGenerator<T[]> {
  for await (const item of items) yield [item];
}
