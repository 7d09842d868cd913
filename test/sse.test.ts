// The SSE parser against the WHATWG HTML event-stream rules (§9.2.6) and the examples the standard gives:
// every line ending, every place a stream can be split between reads, fields, comments and multi-line data.
import { describe, expect, it } from 'vitest';
import { SseParser, type SseMessage } from '../src/providers/sse.js';

/** Parse `text` fed in the given pieces. */
function parse(...pieces: string[]): SseMessage[] {
  const parser = new SseParser();
  const messages: SseMessage[] = [];
  for (const piece of pieces) messages.push(...parser.push(piece));
  messages.push(...parser.end());
  return messages;
}

const stream = 'event: add\ndata: 73857293\n\n: a comment\ndata: YHOO\ndata: +2\ndata: 10\n\nid: 7\nretry: 10\nunknown: x\ndata:no space\ndata:  two spaces\n\n';
const expected: SseMessage[] = [
  { event: 'add', data: '73857293' },
  { event: 'message', data: 'YHOO\n+2\n10' },
  { event: 'message', data: 'no space\n two spaces' },
];

describe('SseParser', () => {
  it('reads the standard\'s examples: multi-line data, event names, comments and fields it ignores', () => {
    expect(parse(stream)).toEqual(expected);
    // "data" alone is an empty data line; a blank line with no data dispatches nothing (the standard's third example).
    expect(parse('data\n\ndata\ndata\n\n')).toEqual([{ event: 'message', data: '' }, { event: 'message', data: '\n' }]);
    expect(parse('data:test\n\ndata: test\n\n')).toEqual([{ event: 'message', data: 'test' }, { event: 'message', data: 'test' }]);
    // An event name without data is dropped with it, not carried to the next message.
    expect(parse('event: lost\n\ndata: x\n\n')).toEqual([{ event: 'message', data: 'x' }]);
  });

  it('treats LF, CRLF and CR alike, and ignores a leading byte order mark', () => {
    expect(parse(stream.replaceAll('\n', '\r\n'))).toEqual(expected);
    expect(parse(stream.replaceAll('\n', '\r'))).toEqual(expected);
    expect(parse(`\ufeff${stream}`)).toEqual(expected);
    // Only the first character of the stream can be a byte order mark.
    expect(parse('data: a\n\n', '\ufeffdata: b\n\n').map((message) => message.data)).toEqual(['a']);
  });

  it('gives the same messages however the stream is split between reads', () => {
    for (const text of [stream, stream.replaceAll('\n', '\r\n'), stream.replaceAll('\n', '\r'), `\ufeff${stream}`]) {
      for (let at = 0; at <= text.length; at += 1) {
        expect(parse(text.slice(0, at), text.slice(at)), `split at ${at}`).toEqual(expected);
      }
      // One character a read, with empty reads between.
      expect(parse(...[...text].flatMap((character) => [character, '']))).toEqual(expected);
    }
  });

  it('still delivers a last message whose blank line never came', () => {
    expect(parse('data: a\n\ndata: last')).toEqual([{ event: 'message', data: 'a' }, { event: 'message', data: 'last' }]);
    expect(parse('data: a\r')).toEqual([{ event: 'message', data: 'a' }]);
  });

  it('ends a stream whose line or message outgrows the limit, instead of holding it in memory', () => {
    // A line that never ends, arriving over several reads.
    const endless = new SseParser(100);
    expect(endless.push(`data: ${'x'.repeat(60)}`)).toEqual([]);
    expect(() => endless.push('x'.repeat(60))).toThrow(/stream event longer than 100 characters/);
    // A message of many short data lines and no blank line.
    const piled = new SseParser(100);
    expect(() => piled.push('data: 0123456789\n'.repeat(12))).toThrow(/longer than 100 characters/);
    // At the limit, and in messages that end, nothing is refused.
    const fine = new SseParser(100);
    expect(fine.push(`data: ${'y'.repeat(94)}\n\n`.repeat(3))).toHaveLength(3);
  });
});
