// Incremental Server-Sent Events parser (WHATWG HTML §9.2.6): bytes in, {event, data} messages out.

export interface SseMessage {
  event: string;
  data: string;
}

/** Feed it chunks of text; it returns the complete messages each chunk finished. */
export class SseParser {
  private buffer = '';
  private event = '';
  private data: string[] = [];

  push(text: string): SseMessage[] {
    this.buffer += text;
    const messages: SseMessage[] = [];
    let start = 0;
    for (;;) {
      const newline = this.buffer.indexOf('\n', start);
      if (newline < 0) break;
      let line = this.buffer.slice(start, newline);
      start = newline + 1;
      if (line.endsWith('\r')) line = line.slice(0, -1);
      this.takeLine(line, messages);
    }
    this.buffer = this.buffer.slice(start);
    return messages;
  }

  /** Call at end of stream: a final message without its blank line still counts. */
  end(): SseMessage[] {
    const messages: SseMessage[] = [];
    if (this.buffer.length > 0) this.takeLine(this.buffer.replace(/\r$/, ''), messages);
    this.buffer = '';
    this.takeLine('', messages);
    return messages;
  }

  private takeLine(line: string, messages: SseMessage[]): void {
    if (line === '') {
      if (this.data.length > 0) messages.push({ event: this.event || 'message', data: this.data.join('\n') });
      this.event = '';
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
  }
}

/**
 * Parse a whole SSE body from a byte stream: the messages each read completed, as one batch (one await per read
 * rather than per message, which matters when a read holds a whole stream of small events). Batches are never empty.
 */
export async function* readSseBatches(body: AsyncIterable<Uint8Array | string>): AsyncGenerator<SseMessage[]> {
  const parser = new SseParser();
  const decoder = new TextDecoder();
  for await (const chunk of body) {
    const messages = parser.push(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
    if (messages.length > 0) yield messages;
  }
  const last = [...parser.push(decoder.decode()), ...parser.end()];
  if (last.length > 0) yield last;
}

/** Parse a whole SSE body from a byte stream, message by message. */
export async function* readSse(body: AsyncIterable<Uint8Array | string>): AsyncGenerator<SseMessage> {
  for await (const batch of readSseBatches(body)) yield* batch;
}
