// Bad input on every public route and on /admin: random and mutated JSON, wrong types at every field, huge and deep
// bodies, invalid UTF-8, NUL bytes, duplicate keys, oversized headers, slow headers, slow bodies, slow reads and too
// many connections. Nothing crashes or hangs, no 5xx (the mock upstream never fails), every refusal has OpenAI's error
// shape and a wrong-typed field is named in `param`, and RSS stays bounded.
// Guards: the body parser and parseBody/request schemas (gateway/server.ts, validate.ts, messages/, responses/), the
// JSON depth scan and the server limits (gateway/input-limits.ts: maxHeaderSize, headersTimeout, requestTimeout,
// connectionTimeout, clientErrorHandler, limitConnectionsPerClient).
import fc from 'fast-check';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const secrets = { ADMIN_KEY: 'sk-fuzz-admin-key', BOT_KEY: 'sk-fuzz-claims-bot' };
const limits = { body: 256 * 1024, headers: 8 * 1024, depth: 32, connections: 24, headersTimeout: 800, requestTimeout: 1500, idle: 2000, keepAlive: 1000 };
const text = `
store: sqlite:{{DB}}
server:
  body_limit_bytes: ${limits.body}
  header_limit_bytes: ${limits.headers}
  max_json_depth: ${limits.depth}
  max_connections_per_client: ${limits.connections}
  headers_timeout_ms: ${limits.headersTimeout}
  request_timeout_ms: ${limits.requestTimeout}
  idle_timeout_ms: ${limits.idle}
  keep_alive_timeout_ms: ${limits.keepAlive}
admin_keys: [ { name: ops, key_env: ADMIN_KEY } ]
providers: [ { name: mock, type: mock } ]
models:
  - { alias: demo, provider: mock, version: mock-gpt-1 }
  - { alias: vectors, provider: mock, version: mock-embedding-1, type: embedding }
org:
  name: acme
  departments:
    - name: claims
      retention: { content: redacted }
      keys: [ { name: bot, key_env: BOT_KEY } ]
`;

const validBodies: Record<string, Record<string, unknown>> = {
  '/v1/chat/completions': { model: 'demo', messages: [{ role: 'user', content: 'hi' }], max_tokens: 8 },
  '/v1/messages': { model: 'demo', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] },
  '/v1/responses': { model: 'demo', input: 'hi', max_output_tokens: 16 },
  '/v1/embeddings': { model: 'vectors', input: 'hi' },
};
const publicRoutes = Object.keys(validBodies);

let gateway: TestGateway;
let host: string;
let port: number;

beforeAll(async () => {
  gateway = await startTestGateway(text, secrets);
  const url = new URL(gateway.url);
  host = url.hostname;
  port = Number(url.port);
});
afterAll(async () => gateway?.stop());

const post = async (path: string, body: string | Uint8Array, key = secrets.BOT_KEY, headers: Record<string, string> = {}) => {
  const response = await fetch(`${gateway.url}${path}`, {
    method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers }, body, signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, text: await response.text() };
};

/** Every answer: not a 5xx; an error in OpenAI's shape (Anthropic's on /v1/messages) with a code and a message. */
function expectWellFormed(path: string, answer: { status: number; text: string }): { code: string; param: string | null } | undefined {
  expect(answer.status, `${path}: ${answer.text.slice(0, 300)}`).toBeLessThan(500);
  if (answer.status < 400) return undefined;
  const body = JSON.parse(answer.text) as { type?: string; error: { message: string; code: string; param: string | null; type: string } };
  if (path === '/v1/messages') expect(body.type).toBe('error');
  expect(typeof body.error.message).toBe('string');
  expect(body.error.message.length).toBeGreaterThan(0);
  expect(typeof body.error.code).toBe('string');
  expect(body.error).toHaveProperty('param');
  return body.error;
}

const runs = { numRuns: 60, interruptAfterTimeLimit: 10_000 };

describe('random and mutated bodies on every public route', () => {
  it('random JSON values', async () => {
    await fc.assert(fc.asyncProperty(fc.constantFrom(...publicRoutes), fc.jsonValue({ maxDepth: 6 }), async (path, value) => {
      expectWellFormed(path, await post(path, JSON.stringify(value)));
    }), runs);
  }, 60_000);

  it('valid bodies with characters inserted, deleted or replaced', async () => {
    const edit = fc.record({ at: fc.nat(), kind: fc.constantFrom('insert', 'delete', 'replace'), character: fc.constantFrom('{', '}', '[', ']', '"', ',', ':', '\\', '\u0000', '\uD800', 'x', '1', ' ') });
    await fc.assert(fc.asyncProperty(fc.constantFrom(...publicRoutes), fc.array(edit, { minLength: 1, maxLength: 4 }), async (path, edits) => {
      let body = JSON.stringify(validBodies[path]);
      for (const { at, kind, character } of edits) {
        const index = at % (body.length + 1);
        body = kind === 'insert' ? body.slice(0, index) + character + body.slice(index)
          : kind === 'delete' ? body.slice(0, index) + body.slice(index + 1)
            : body.slice(0, index) + character + body.slice(index + 1);
      }
      expectWellFormed(path, await post(path, body));
    }), runs);
  }, 60_000);

  it('a wrong type at any field is a 400 naming that field', async () => {
    const wrong = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 }), fc.array(fc.integer(), { maxLength: 2 }), fc.double(), fc.string({ maxLength: 5 }));
    const fieldPaths = (value: unknown, prefix: (string | number)[] = []): (string | number)[][] => {
      if (value === null || typeof value !== 'object') return [prefix];
      const entries = Array.isArray(value) ? value.map((child, index) => [index, child] as const) : Object.entries(value);
      return [...(prefix.length > 0 ? [prefix] : []), ...entries.flatMap(([key, child]) => fieldPaths(child, [...prefix, key]))];
    };
    const cases = publicRoutes.flatMap((path) => fieldPaths(validBodies[path]).map((field) => ({ path, field })));
    await fc.assert(fc.asyncProperty(fc.constantFrom(...cases), wrong, async ({ path, field }, value) => {
      const body = structuredClone(validBodies[path]) as Record<string | number, unknown>;
      let parent = body;
      for (const part of field.slice(0, -1)) parent = parent[part] as Record<string | number, unknown>;
      parent[field.at(-1)!] = value;
      const error = expectWellFormed(path, await post(path, JSON.stringify(body)));
      if (error?.code === 'invalid_request' || error?.code === 'upstream_unsupported') {
        // The refusal names the field that was changed (or the object holding it, for a part that must have a type).
        expect(error.param, `${path} ${field.join('.')} = ${JSON.stringify(value)}`).not.toBeNull();
        const changed = field.map(String).join('.');
        const named = String(error.param).replaceAll(/\[(\d+)\]/g, '.$1');
        expect(changed.startsWith(named) || named.startsWith(changed), `${changed} named as ${named}`).toBe(true);
      }
    }), { ...runs, numRuns: 120 });
  }, 60_000);

  it('invalid UTF-8, NUL bytes and random bytes', async () => {
    await fc.assert(fc.asyncProperty(fc.constantFrom(...publicRoutes), fc.uint8Array({ maxLength: 200 }), async (path, bytes) => {
      expectWellFormed(path, await post(path, bytes));
    }), runs);
    for (const path of publicRoutes) {
      const withNul = JSON.stringify(validBodies[path]).replace('hi', 'h\\u0000i\u0000');
      expectWellFormed(path, await post(path, withNul));
      const invalidUtf8 = Buffer.concat([Buffer.from(JSON.stringify(validBodies[path]).slice(0, -1)), Buffer.from(',"user":"'), Buffer.from([0xff, 0xfe, 0xc3, 0x28]), Buffer.from('"}')]);
      expectWellFormed(path, await post(path, invalidUtf8));
      // An unknown field is quoted back in x-covenant-warnings: a lone surrogate or control character in its name once
      // made Node refuse the header, and the answer was a 500 (gateway/streaming.ts headerSafe).
      expectWellFormed(path, await post(path, JSON.stringify({ ...validBodies[path], 'odd\uD800\u0001é': 1 })));
    }
  }, 60_000);

  it('duplicate keys: the last one counts, everywhere', async () => {
    const served = await post('/v1/chat/completions', '{"model":"nope","messages":[{"role":"user","content":"hi"}],"model":"demo","max_tokens":8}');
    expect(served.status).toBe(200);
    const refused = await post('/v1/chat/completions', '{"model":"demo","messages":[{"role":"user","content":"hi"}],"model":"nope"}');
    expect(refused.status).toBe(404);
    expect(JSON.parse(refused.text).error.code).toBe('model_not_found');
  });

  it('deep, huge and oversized bodies', async () => {
    for (const path of publicRoutes) {
      const deep = await post(path, `{"model":"demo","input":${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
      expect(deep.status).toBe(400);
      expect(JSON.parse(deep.text).error.message).toContain('max_json_depth');
      const huge = await post(path, JSON.stringify({ ...validBodies[path], user: 'x'.repeat(limits.body - 500) }));
      expectWellFormed(path, huge);
      const tooBig = await post(path, JSON.stringify({ ...validBodies[path], user: 'x'.repeat(limits.body + 10) }));
      expect(tooBig.status).toBe(413);
      expect(JSON.parse(tooBig.text).error.code).toBe('body_too_large');
      // Many fields and a large tool schema are work linear in their size.
      const wide = await post(path, JSON.stringify({ ...validBodies[path], tools: Array.from({ length: 300 }, (_, index) => ({ type: 'function', name: `f${index}`, function: { name: `f${index}`, parameters: { type: 'object', properties: Object.fromEntries(Array.from({ length: 30 }, (_, field) => [`p${field}`, { type: 'string', description: 'd'.repeat(10) }])) } } })) }));
      expectWellFormed(path, wide);
    }
  }, 60_000);
});

describe('/admin under bad input', () => {
  it('random query strings and bodies on every admin route', async () => {
    const routes = gateway.server.adminRoutes ?? [];
    expect(routes.length).toBeGreaterThan(10);
    const names = ['limit', 'scope', 'since', 'until', 'from', 'to', 'format', 'group_by', 'period', 'index', 'tree_size', 'department', 'all', 'kind'];
    const query = fc.dictionary(fc.constantFrom(...names), fc.oneof(fc.string({ maxLength: 12 }), fc.integer().map(String), fc.constant('-1'), fc.constant('1e309'), fc.constant('%00')), { maxKeys: 4 });
    await fc.assert(fc.asyncProperty(fc.constantFrom(...routes), query, fc.jsonValue({ maxDepth: 4 }), fc.string({ maxLength: 20 }), async (route, parameters, body, id) => {
      // /admin/reload would replace the running config (which is valid, so it would succeed); it takes no input to fuzz.
      if (route.url === '/admin/reload') return;
      const path = route.url.replaceAll(/:[a-z]+/g, encodeURIComponent(id) || 'x');
      const search = new URLSearchParams(parameters).toString();
      const response = await fetch(`${gateway.url}${path}${search ? `?${search}` : ''}`, {
        method: route.method, headers: { authorization: `Bearer ${secrets.ADMIN_KEY}`, 'content-type': 'application/json' },
        body: route.method === 'GET' ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(10_000),
      });
      expectWellFormed(route.url, { status: response.status, text: response.status < 400 ? '' : await response.text() });
      if (response.status < 400) await response.arrayBuffer();
    }), { ...runs, numRuns: 150 });
  }, 60_000);
});

/** A raw connection to the gateway; `received()` is what it got, `closed` resolves when the server closed it. */
function rawSocket(): Promise<{ socket: Socket; received: () => string; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let data = '';
    const socket = connect(port, host, () => resolve({ socket, received: () => data, closed }));
    const closed = new Promise<number>((done) => socket.on('close', () => done(Date.now() - started)));
    socket.on('data', (chunk) => { data += chunk.toString(); });
    socket.on('error', () => undefined);
    socket.once('error', reject);
  });
}

const quickRequest = async () => {
  const started = Date.now();
  const answer = await post('/v1/chat/completions', JSON.stringify(validBodies['/v1/chat/completions']));
  expect(answer.status).toBe(200);
  return Date.now() - started;
};

describe('slow and greedy clients', () => {
  it('oversized headers are a 431 in OpenAI shape', async () => {
    const answer = await post('/v1/chat/completions', JSON.stringify(validBodies['/v1/chat/completions']), secrets.BOT_KEY, { 'x-padding': 'x'.repeat(limits.headers * 2) });
    expect(answer.status).toBe(431);
    expect(JSON.parse(answer.text).error.code).toBe('headers_too_large');
  });

  it('slow headers (slowloris) are cut off with a 408 while others are served', async () => {
    const slow = await rawSocket();
    slow.socket.write('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n');
    const drip = setInterval(() => slow.socket.writable && slow.socket.write('x-a: b\r\n'), 100);
    expect(await quickRequest()).toBeLessThan(2000);
    const after = await slow.closed;
    clearInterval(drip);
    expect(after).toBeLessThan(limits.headersTimeout + 3000);
    expect(slow.received()).toMatch(/^HTTP\/1\.1 408/);
    expect(slow.received()).toContain('"code":"request_timeout"');
  }, 15_000);

  it('a slow body is cut off after the request timeout', async () => {
    const slow = await rawSocket();
    slow.socket.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nauthorization: Bearer ${secrets.BOT_KEY}\r\ncontent-type: application/json\r\ncontent-length: 5000\r\n\r\n{`);
    const drip = setInterval(() => slow.socket.writable && slow.socket.write(' '), 100);
    expect(await quickRequest()).toBeLessThan(2000);
    const after = await slow.closed;
    clearInterval(drip);
    expect(after).toBeLessThan(limits.requestTimeout + 3000);
  }, 15_000);

  it('a client that sends a request and does not read is dropped (keep-alive, then idle timeout)', async () => {
    const slow = await rawSocket();
    slow.socket.pause();
    slow.socket.write(`GET /v1/models HTTP/1.1\r\nHost: x\r\nauthorization: Bearer ${secrets.BOT_KEY}\r\n\r\n`);
    expect(await quickRequest()).toBeLessThan(2000);
    await new Promise((resolve) => setTimeout(resolve, Math.max(limits.idle, limits.keepAlive) + 1000));
    // A paused socket reports the server's close only once read: read now, and it must already be closed.
    slow.socket.resume();
    const closedSoon = await Promise.race([slow.closed.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 1000))]);
    expect(closedSoon).toBe(true);
  }, 15_000);

  it('connections beyond the per-client limit get a 429', async () => {
    const held = await Promise.all(Array.from({ length: limits.connections + 2 }, () => rawSocket()));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const refused = held.filter((connection) => connection.received().startsWith('HTTP/1.1 429'));
    expect(refused.length).toBeGreaterThanOrEqual(2);
    expect(refused[0]!.received()).toContain('"code":"too_many_connections"');
    for (const connection of held) connection.socket.destroy();
    await Promise.all(held.map((connection) => connection.closed));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await quickRequest()).toBeLessThan(2000);
  }, 15_000);
});

describe('memory', () => {
  it('RSS stays bounded over a long fuzz run', async () => {
    const run = () => fc.assert(fc.asyncProperty(fc.constantFrom(...publicRoutes), fc.jsonValue({ maxDepth: 4 }), fc.boolean(), async (path, value, valid) => {
      const body = valid ? { ...validBodies[path], metadata: { value: JSON.stringify(value).slice(0, 200) } } : value;
      expectWellFormed(path, await post(path, JSON.stringify(body)));
    }), { numRuns: 200, interruptAfterTimeLimit: 8_000 });
    await run();
    const before = process.memoryUsage().rss;
    await run();
    await run();
    const grown = process.memoryUsage().rss - before;
    // Twice as many requests again must not grow the process by more than a bounded amount (no per-request leak).
    expect(grown).toBeLessThan(96 * 1024 * 1024);
  }, 90_000);
});
