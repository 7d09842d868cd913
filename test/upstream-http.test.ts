// The upstream JSON client against a real HTTP server: parsed answers with their raw text, provider errors kept,
// garbage, timeouts, aborts, refused connections and answers cut off midway each become the right CovenantError.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CovenantError } from '../src/core/errors.js';
import { sendUpstreamJson } from '../src/providers/http.js';
import { rawJsonOf } from '../src/providers/raw-json.js';

type Route = (request: IncomingMessage, body: string, response: ServerResponse) => void;
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
};

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

const call = (path: string, options: { signal?: AbortSignal; timeoutMs?: number; url?: string } = {}) =>
  sendUpstreamJson<Record<string, unknown>>({
    provider: 'fake', url: options.url ?? `${base}${path}`, headers: { authorization: 'Bearer upstream-secret' },
    body: { model: 'm', messages: [{ role: 'user', content: 'hi' }] }, signal: options.signal ?? new AbortController().signal,
    timeoutMs: options.timeoutMs ?? 5000,
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
