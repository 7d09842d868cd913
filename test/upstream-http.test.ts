// The upstream client against a real HTTP server. JSON: parsed answers with their raw text, provider errors kept,
// garbage, timeouts, aborts, refused connections and answers cut off midway each become the right CovenantError.
// Streamed bodies: read as they arrive, with backpressure on the provider, and stalls, cuts, aborts, an abandoned
// read and a discarded rest each ending the body as they should.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CovenantError } from '../src/core/errors.js';
import { sendUpstream, sendUpstreamJson, translateTransportError } from '../src/providers/http.js';
import { rawJsonOf } from '../src/providers/raw-json.js';

type Route = (request: IncomingMessage, body: string, response: ServerResponse) => void;

/** `head`, 3 MiB of one string's characters in 64 KiB writes, and the end of the JSON. */
function sendOversized(response: ServerResponse, status: number, head: string): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.write(head);
  const piece = 'z'.repeat(64 * 1024);
  for (let index = 0; index < 48; index += 1) response.write(piece);
  response.end('"}');
}

const routes: Record<string, Route> = {
  '/echo': (_request, body, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(`{"echo": ${body},  "spaced": true}`);
  },
  '/big': (_request, _body, response) => {
    // Many chunks: the client must join them before parsing.
    response.writeHead(200, { 'content-type': 'application/json' });
    response.write('{"items": [');
    for (let index = 0; index < 2000; index += 1) response.write(`${index === 0 ? '' : ','}"${'é'.repeat(20)}${index}"`);
    response.end(']}');
  },
  '/limited': (_request, _body, response) => {
    response.writeHead(429, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ error: { message: 'Rate limit reached for requests', type: 'requests' } }));
  },
  '/garbage': (_request, _body, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end('<html>not json</html>');
  },
  '/slow': (_request, _body, response) => {
    setTimeout(() => {
      if (!response.destroyed) response.end('{}');
    }, 2000);
  },
  '/cut': (_request, _body, response) => {
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
    response.write('{"partial": ');
    setTimeout(() => response.socket?.destroy(), 20);
  },
  '/cut-error': (_request, _body, response) => {
    response.writeHead(500, { 'content-type': 'application/json', 'content-length': '1000' });
    response.write('{"error": {"message": "overloaded"}}');
    setTimeout(() => response.socket?.destroy(), 20);
  },
  // 3 MiB of a JSON answer (valid once complete), and a failure answer as long whose message is at its start.
  '/oversized': (_request, _body, response) => sendOversized(response, 200, '{"data": "'),
  '/oversized-error': (_request, _body, response) => sendOversized(response, 503, '{"error": {"message": "overloaded"}, "detail": "'),
  '/trickle': (_request, _body, response) => {
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    let part = 0;
    const timer = setInterval(() => {
      if (part === 5) {
        clearInterval(timer);
        response.end();
        return;
      }
      response.write(`part-${part}|`);
      part += 1;
    }, 20);
  },
  '/flood': (_request, _body, response) => {
    // Writes as fast as the client takes bytes; floodWritten says how far it got.
    response.writeHead(200, { 'content-type': 'application/octet-stream' });
    const piece = Buffer.alloc(64 * 1024, 'x');
    floodWritten = 0;
    const pump = () => {
      while (floodWritten < floodLimit) {
        floodWritten += piece.length;
        if (!response.write(piece)) {
          response.once('drain', pump);
          return;
        }
      }
      response.end();
    };
    pump();
  },
  '/stall': (_request, _body, response) => {
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    response.write('first|');
  },
  '/stream-cut': (_request, _body, response) => {
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    response.write('partial|');
    setTimeout(() => response.socket?.destroy(), 20);
  },
  '/endless': (_request, _body, response) => {
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    const timer = setInterval(() => response.write('tick|'), 10);
    response.on('close', () => {
      clearInterval(timer);
      endlessClosed.resolve(response.writableFinished);
    });
  },
  '/rest-after-done': (_request, _body, response) => {
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    response.write('done|');
    setTimeout(() => response.end('rest that nobody reads|'), 50);
    response.on('close', () => restClosed.resolve(response.writableFinished));
  },
};

/** The bytes '/flood' sends in all, and how many it has written so far. */
const floodLimit = 64 * 1024 * 1024;
let floodWritten = 0;
const endlessClosed = settled<boolean>();
const restClosed = settled<boolean>();

/** A promise and its resolve (Promise.withResolvers is not in Node 20). */
function settled<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => { body += chunk; });
    request.on('end', () => routes[request.url ?? '']?.(request, body, response));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const call = (path: string, options: { signal?: AbortSignal; timeoutMs?: number; url?: string; maxAnswerBytes?: number } = {}) =>
  sendUpstreamJson<Record<string, unknown>>({
    provider: 'fake', url: options.url ?? `${base}${path}`, headers: { authorization: 'Bearer upstream-secret' },
    body: { model: 'm', messages: [{ role: 'user', content: 'hi' }] }, signal: options.signal ?? new AbortController().signal,
    timeoutMs: options.timeoutMs ?? 5000, maxAnswerBytes: options.maxAnswerBytes,
  });

async function failure(promise: Promise<unknown>): Promise<CovenantError> {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(CovenantError);
  return error as CovenantError;
}

describe('sendUpstreamJson', () => {
  it('sends the JSON body and returns the parsed answer with its exact text kept', async () => {
    const answer = await call('/echo');
    expect(answer).toEqual({ echo: { model: 'm', messages: [{ role: 'user', content: 'hi' }] }, spaced: true });
    expect(rawJsonOf(answer)).toBe('{"echo": {"model":"m","messages":[{"role":"user","content":"hi"}]},  "spaced": true}');
  });

  it('joins an answer that arrives in many chunks, multi-byte characters included', async () => {
    const answer = await call('/big') as { items: string[] };
    expect(answer.items).toHaveLength(2000);
    expect(answer.items[1999]).toBe(`${'é'.repeat(20)}1999`);
  });

  it("keeps the provider's status and message", async () => {
    const error = await failure(call('/limited'));
    expect(error.status).toBe(429);
    expect(error.code).toBe('upstream_error');
    expect(error.message).toContain('Rate limit reached for requests');
  });

  it('turns a body that is not JSON into a 502 that quotes it', async () => {
    const error = await failure(call('/garbage'));
    expect(error.status).toBe(502);
    expect(error.message).toContain('<html>not json</html>');
  });

  it('cuts off an answer larger than the limit with a 502 that says so', async () => {
    const error = await failure(call('/oversized', { maxAnswerBytes: 1024 * 1024 }));
    expect(error.status).toBe(502);
    expect(error.message).toBe('Provider "fake" sent an answer larger than 1048576 bytes; it was cut off.');
    // Under the limit the same answer is read whole.
    const answer = await call('/oversized', { maxAnswerBytes: 4 * 1024 * 1024 }) as { data: string };
    expect(answer.data).toHaveLength(48 * 64 * 1024);
  });

  it("keeps a failure answer's status and the start of its message, however long it is", async () => {
    const error = await failure(call('/oversized-error', { maxAnswerBytes: 1024 * 1024 }));
    expect(error.status).toBe(502);
    expect(error.message).toContain('returned HTTP 503: {"error": {"message": "overloaded"}');
    expect(error.message.length).toBeLessThan(1000);
  });

  it('times out a provider that does not answer', async () => {
    const error = await failure(call('/slow', { timeoutMs: 200 }));
    expect(error.code).toBe('upstream_timeout');
    expect(error.status).toBe(504);
  });

  it('ends the call when its signal aborts, before or during the call', async () => {
    const during = new AbortController();
    setTimeout(() => during.abort(), 100);
    expect((await failure(call('/slow', { signal: during.signal }))).message).toContain('aborted');
    const before = new AbortController();
    before.abort();
    expect((await failure(call('/echo', { signal: before.signal }))).code).toBe('upstream_timeout');
  });

  it('says when the provider cannot be reached, and when an answer breaks off', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const unreachable = await failure(call('', { url: `http://127.0.0.1:${port}/v1/chat/completions` }));
    expect(unreachable.status).toBe(502);
    expect(unreachable.message).toContain('could not be reached');
    expect((await failure(call('/cut'))).message).toContain('broke off');
    const cutError = await failure(call('/cut-error'));
    expect(cutError.status).toBe(502);
    expect(cutError.message).toContain('HTTP 500: overloaded');
  });
});

describe('sendUpstream (streamed bodies)', () => {
  const open = (path: string, options: { signal?: AbortSignal; timeoutMs?: number } = {}) =>
    sendUpstream({
      provider: 'fake', url: `${base}${path}`, headers: {}, body: { stream: true },
      signal: options.signal ?? new AbortController().signal, timeoutMs: options.timeoutMs ?? 5000,
    });
  /** Read a body to its end: the text of each read, and the error that ended it, if one did. */
  async function readAll(body: AsyncIterable<Buffer>): Promise<{ reads: string[]; error?: unknown }> {
    const reads: string[] = [];
    try {
      for await (const chunk of body) reads.push(chunk.toString('utf8'));
    } catch (error) {
      return { reads, error };
    }
    return { reads };
  }

  it('gives the body as it arrives, read by read, complete and in order', async () => {
    const response = await open('/trickle');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/event-stream');
    const { reads, error } = await readAll(response.body);
    expect(error).toBeUndefined();
    expect(reads.join('')).toBe('part-0|part-1|part-2|part-3|part-4|');
    // 20 ms apart: the reader sees the parts as they come, not all at the end.
    expect(reads.length).toBeGreaterThanOrEqual(3);
  });

  it("keeps a failed stream's status and message", async () => {
    const error = await failure(open('/limited'));
    expect(error.status).toBe(429);
    expect(error.message).toContain('Rate limit reached for requests');
  });

  it('pauses a provider whose body outruns the reader, and loses nothing', async () => {
    const response = await open('/flood');
    // Read nothing for a while: the provider is held back (a few buffers' worth sent) instead of the gateway taking
    // the whole body into memory.
    await delay(300);
    expect(floodWritten).toBeGreaterThan(0);
    expect(floodWritten).toBeLessThan(floodLimit / 4);
    let bytes = 0;
    let intact = true;
    for await (const chunk of response.body) {
      bytes += chunk.length;
      if (intact && chunk.some((byte) => byte !== 0x78)) intact = false;
    }
    expect(bytes).toBe(floodLimit);
    expect(intact).toBe(true);
  });

  it('ends with a timeout when the provider goes quiet midway, after what it sent', async () => {
    const response = await open('/stall', { timeoutMs: 200 });
    const { reads, error } = await readAll(response.body);
    expect(reads.join('')).toBe('first|');
    expect(translateTransportError('fake', 200, error, 'response')).toMatchObject({ code: 'upstream_timeout', status: 504 });
  });

  it('ends with an error when the provider cuts the body, after what it sent', async () => {
    const response = await open('/stream-cut');
    const { reads, error } = await readAll(response.body);
    expect(reads.join('')).toBe('partial|');
    expect(translateTransportError('fake', 5000, error, 'response').message).toContain('broke off');
  });

  it('ends the body when the signal aborts midway', async () => {
    const controller = new AbortController();
    const response = await open('/endless', { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const { reads, error } = await readAll(response.body);
    expect(reads.join('')).toContain('tick|');
    expect(translateTransportError('fake', 5000, error, 'response').message).toContain('aborted');
    // The connection is closed under the provider: its answer did not finish.
    expect(await endlessClosed.promise).toBe(false);
  });

  it('lets a discarded rest arrive unread instead of aborting the call', async () => {
    const response = await open('/rest-after-done');
    const first = await response.body.next();
    expect(first.value?.toString()).toBe('done|');
    response.body.discard();
    // The provider got to send its whole answer: the call was not aborted (which would also cost the connection).
    expect(await restClosed.promise).toBe(true);
    expect(await response.body.next()).toEqual({ done: true, value: undefined });
  });
});
