// The body of a streamed upstream answer, fed by undici's dispatch handler: a queue of bytes, read without a Node stream.
//
// Why not undici's response Readable: for an SSE answer of a dozen small events, the stream machinery (events,
// nextTicks, its async iterator) cost more of the gateway's CPU than parsing the events. Here each read takes, as one
// buffer, everything that arrived since the last read, and costs one promise when it has to wait.

/** What the dispatch handler's controller lets the body do to the connection. */
export interface BodyController {
  pause(): void;
  resume(): void;
  abort(reason: Error): void;
}

/** Queued bytes at which the connection is paused until the reader catches up (backpressure on the provider). */
const highWaterBytes = 256 * 1024;

export class UpstreamBody implements AsyncIterableIterator<Buffer> {
  #queue: Buffer[] = [];
  #queuedBytes = 0;
  #ended = false;
  #error: unknown;
  #discarding = false;
  #paused = false;
  #wake: (() => void) | undefined;

  constructor(private readonly controller: BodyController) {}

  /** From the handler: bytes arrived. */
  push(chunk: Buffer): void {
    if (this.#discarding || this.#ended) return;
    this.#queue.push(chunk);
    this.#queuedBytes += chunk.length;
    if (this.#queuedBytes >= highWaterBytes && !this.#paused) {
      this.#paused = true;
      this.controller.pause();
    }
    this.#wakeReader();
  }

  /** From the handler: the body is complete. */
  end(): void {
    this.#ended = true;
    this.#wakeReader();
  }

  /** From the handler: the body broke off. What arrived before is still read first; then `error` is thrown. */
  fail(error: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    if (!this.#discarding) this.#error = error;
    this.#wakeReader();
  }

  /**
   * Let the rest of the body arrive and drop it: for an answer that is complete before its body ends (OpenAI's
   * `[DONE]`). The connection goes back to the pool once the provider ends the body, instead of being aborted.
   */
  discard(): void {
    this.#discarding = true;
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#resumeConnection();
  }

  /** Stop reading: a body still arriving is aborted (its connection closed). Safe to call more than once. */
  destroy(): void {
    this.#queue = [];
    this.#queuedBytes = 0;
    if (this.#ended) return;
    this.#ended = true;
    this.controller.abort(new Error('the reader of the upstream body stopped'));
    this.#wakeReader();
  }

  /** Everything that arrived since the last read, as one buffer. */
  async next(): Promise<IteratorResult<Buffer>> {
    while (this.#queue.length === 0) {
      if (this.#error !== undefined) {
        const error = this.#error;
        this.#error = undefined;
        throw error;
      }
      if (this.#ended) return { done: true, value: undefined };
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
    const queue = this.#queue;
    const value = queue.length === 1 ? queue[0]! : Buffer.concat(queue, this.#queuedBytes);
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#resumeConnection();
    return { done: false, value };
  }

  async return(): Promise<IteratorResult<Buffer>> {
    this.destroy();
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #resumeConnection(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.controller.resume();
  }

  #wakeReader(): void {
    const wake = this.#wake;
    if (wake === undefined) return;
    this.#wake = undefined;
    wake();
  }
}
