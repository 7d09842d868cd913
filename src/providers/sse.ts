// Incremental Server-Sent Events parser (WHATWG HTML §9.2.6): bytes in, {event, data} messages out.
import { CovenantError } from '../core/errors.js';

export interface SseMessage {
  event: string;
  data: string;
}

/**
 * The longest line or message (in characters) a stream may hold: a provider that never ends a line or a message must
 * not take the gateway's memory with it. A chunk of a chat answer is well under a megabyte.
 */
export const maxSseMessageLength = 16 * 1024 * 1024;

/**
 * Feed it chunks of text; it returns the complete messages each chunk finished. Lines end with LF, CRLF or CR (a CR
 * at the end of one chunk and an LF at the start of the next are one line end); `data` lines join with LF, `event`
 * names the message (default "message"), comments and other fields are skipped, and a leading byte order mark is
 * ignored. Unlike a browser, `end()` still delivers a last message whose blank line never came.
 */
export class SseParser {
  #buffer = '';
  #event = '';
  /** The data lines so far, joined with LF; undefined before the first. */
  #data: string | undefined;
  #started = false;
  /** The last chunk ended with CR: an LF that starts the next one ends no further line. */
  #afterCarriageReturn = false;

  constructor(private readonly maxLength = maxSseMessageLength) {}

  push(text: string): SseMessage[] {
    const messages: SseMessage[] = [];
    let buffer = this.#buffer + text;
    let start = 0;
    if (!this.#started && buffer.length > 0) {
      this.#started = true;
      if (buffer.charCodeAt(0) === 0xfeff) start = 1;
    }
    if (this.#afterCarriageReturn && start < buffer.length) {
      if (buffer.charCodeAt(start) === 0x0a) start += 1;
      this.#afterCarriageReturn = false;
    }
    if (buffer.indexOf('\r', start) < 0) {
      // The common case, LF alone: one search per line.
      for (let newline = buffer.indexOf('\n', start); newline >= 0; newline = buffer.indexOf('\n', start)) {
        this.#line(buffer, start, newline, messages);
        start = newline + 1;
      }
    } else {
      for (;;) {
        const newline = buffer.indexOf('\n', start);
        const carriageReturn = buffer.indexOf('\r', start);
        const at = carriageReturn < 0 ? newline : newline < 0 ? carriageReturn : Math.min(newline, carriageReturn);
        if (at < 0) break;
        this.#line(buffer, start, at, messages);
        start = at + 1;
        if (at === carriageReturn) {
          if (start === buffer.length) this.#afterCarriageReturn = true;
          else if (buffer.charCodeAt(start) === 0x0a) start += 1;
        }
      }
    }
    buffer = start === 0 ? buffer : buffer.slice(start);
    this.#buffer = buffer;
    if (buffer.length > this.maxLength || (this.#data !== undefined && this.#data.length > this.maxLength)) {
      throw new CovenantError('upstream_error', `The provider sent a stream event longer than ${this.maxLength} characters; the stream was ended.`);
    }
    return messages;
  }

  /** Call at end of stream: a final message without its blank line still counts. */
  end(): SseMessage[] {
    const messages: SseMessage[] = [];
    if (this.#buffer.length > 0) this.#line(this.#buffer, 0, this.#buffer.length, messages);
    this.#buffer = '';
    this.#line('', 0, 0, messages);
    return messages;
  }

  /** Take the line text[from, to). */
  #line(text: string, from: number, to: number, messages: SseMessage[]): void {
    if (from === to) {
      if (this.#data !== undefined) messages.push({ event: this.#event || 'message', data: this.#data });
      this.#event = '';
      this.#data = undefined;
      return;
    }
    // "data: " (the form nearly every line takes): no search for the colon.
    if (to - from >= 6 && text.startsWith('data: ', from)) {
      this.#appendData(text.slice(from + 6, to));
      return;
    }
    if (text.charCodeAt(from) === 0x3a) return; // a comment
    const colon = text.indexOf(':', from);
    const fieldEnd = colon < 0 || colon > to ? to : colon;
    const field = text.slice(from, fieldEnd);
    let valueStart = fieldEnd === to ? to : fieldEnd + 1;
    if (valueStart < to && text.charCodeAt(valueStart) === 0x20) valueStart += 1;
    const value = text.slice(valueStart, to);
    if (field === 'data') this.#appendData(value);
    else if (field === 'event') this.#event = value;
  }

  #appendData(value: string): void {
    this.#data = this.#data === undefined ? value : `${this.#data}\n${value}`;
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
