// Group commit: calls that arrive while earlier statements run share the next statement (one round trip for many).

export interface BatchOptions {
  /** Largest batch in one statement; default 1000. */
  maxBatch?: number;
  /**
   * Statements in flight at once; default 1. Calls arriving meanwhile wait and go together in the next batch, so
   * batches grow with load. Keep 1 where statements lock the same rows (hot counters): they would only queue there.
   */
  concurrency?: number;
}

/**
 * Wrap `run`, which handles many inputs in one statement and answers them in order, so single calls are batched.
 * A batch that throws rejects every call in it.
 *
 * @example const insert = batched((rows: Row[]) => insertMany(rows)); await insert(row);
 */
export function batched<Input, Output>(run: (inputs: Input[]) => Promise<Output[]>, options: BatchOptions = {}): (input: Input) => Promise<Output> {
  const maxBatch = options.maxBatch ?? 1000;
  const concurrency = options.concurrency ?? 1;
  let pending: { input: Input; resolve: (output: Output) => void; reject: (error: unknown) => void }[] = [];
  let scheduled = false;
  let running = 0;
  const start = () => {
    scheduled = false;
    while (pending.length > 0 && running < concurrency) {
      const batch = pending.slice(0, maxBatch);
      pending = pending.slice(maxBatch);
      running += 1;
      run(batch.map((call) => call.input))
        .then(
          (outputs) => batch.forEach((call, index) => call.resolve(outputs[index])),
          (error: unknown) => batch.forEach((call) => call.reject(error)),
        )
        .finally(() => {
          running -= 1;
          start();
        });
    }
  };
  return (input) =>
    new Promise<Output>((resolve, reject) => {
      pending.push({ input, resolve, reject });
      // Wait for the end of this event-loop turn, so calls made together share a statement even when idle.
      if (!scheduled && running < concurrency) {
        scheduled = true;
        setImmediate(start);
      }
    });
}
