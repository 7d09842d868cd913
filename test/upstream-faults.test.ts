// Upstream faults: a provider that resets mid-stream, sends malformed SSE or JSON, or stalls. Every request is
// answered (no hang), only with a status the upstream caused (502, 504) or the stream's own end, each has its ledger
// entry, no budget reservation is left behind, and the ledger still verifies.
// Guards: the pipeline's finish on every path (gateway/pipeline.ts, streaming.ts), the upstream timeout
// (providers/http.ts) and the budget stage's release.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const secrets = { ADMIN_KEY: 'sk-faults-admin', BOT_KEY: 'sk-faults-bot' };
const chunk = (content: string) => `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;

/** An OpenAI-compatible host whose behaviour is chosen by the prompt. */
function faultyUpstream(): Promise<Server> {
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (part) => { body += part; });
    request.on('end', () => {
      const fault = (JSON.parse(body) as { messages: { content: string }[] }).messages[0]!.content;
      switch (fault) {
        case 'reset-mid-stream':
          response.writeHead(200, { 'content-type': 'text/event-stream' });
          response.write(chunk('Hel'));
          setTimeout(() => response.socket?.destroy(), 20);
          return;
        case 'reset-before-answer':
          request.socket.destroy();
          return;
        case 'malformed-sse':
          response.writeHead(200, { 'content-type': 'text/event-stream' });
          response.write(chunk('Hel'));
          response.end('data: {"choices": [ not json\n\ndata: [DONE]\n\n');
          return;
        case 'malformed-json':
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end('{"id": "c1", "choices": [');
          return;
        case 'wrong-shape':
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end('{"id": 5, "choices": "none", "usage": {"prompt_tokens": -3}}');
          return;
        case 'stall':
          return; // never answers
        default:
          response.writeHead(500, { 'content-type': 'text/html' });
          response.end('<html>oops</html>');
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

let upstream: Server;
let gateway: TestGateway;

beforeAll(async () => {
  upstream = await faultyUpstream();
  const base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;
  gateway = await startTestGateway(`
store: sqlite:{{DB}}
server: { upstream_timeout_ms: 1500 }
admin_keys: [ { name: ops, key_env: ADMIN_KEY } ]
providers: [ { name: flaky, type: openai-compatible, base_url: ${base} } ]
models: [ { alias: gpt, provider: flaky, version: gpt-4o-mini, price: { input_per_mtok: 1, output_per_mtok: 1 } } ]
org:
  name: acme
  budgets: [ { usd: 5, period: day } ]
  departments:
    - name: claims
      budgets: [ { usd: 1, period: day } ]
      keys: [ { name: bot, key_env: BOT_KEY, budgets: [ { usd: 1, period: day } ] } ]
`, secrets);
});
afterAll(async () => {
  await gateway?.stop();
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
});

const admin = async (path: string) => (await fetch(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${secrets.ADMIN_KEY}` } })).json() as Promise<any>;

describe('a faulty upstream', () => {
  it('every request is answered with a status the upstream caused, and each is on the ledger', async () => {
    const before = (await admin('/admin/audit/entries?limit=10000&kind=inference')).data.length as number;
    const faults = ['reset-mid-stream', 'reset-before-answer', 'malformed-sse', 'malformed-json', 'wrong-shape', 'stall', 'server-error'];
    let sent = 0;
    for (const fault of faults) {
      for (const stream of [false, true]) {
        const started = Date.now();
        const response = await fetch(`${gateway.url}/v1/chat/completions`, {
          method: 'POST', headers: { authorization: `Bearer ${secrets.BOT_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'gpt', messages: [{ role: 'user', content: fault }], max_tokens: 50, stream }), signal: AbortSignal.timeout(10_000),
        });
        const text = await response.text().catch((error: Error) => `body cut: ${error.message}`);
        sent += 1;
        expect(Date.now() - started, `${fault} stream=${stream}`).toBeLessThan(5000);
        // A stream that had begun ends with an error event; otherwise the gateway answers 502 or 504, never its own 5xx.
        if (response.status === 200) {
          expect(stream, `${fault}: ${text.slice(0, 200)}`).toBe(true);
          expect(text, fault).toMatch(/"error"|body cut/);
        } else {
          expect([502, 504], `${fault} stream=${stream}: ${response.status} ${text.slice(0, 200)}`).toContain(response.status);
          expect(JSON.parse(text).error.code).toMatch(/^upstream_/);
        }
      }
    }
    // Every request has its ledger entry (they are written before the answer or the stream's end).
    let entries: any[] = [];
    for (let attempt = 0; attempt < 50; attempt++) {
      entries = (await admin('/admin/audit/entries?limit=10000&kind=inference')).data;
      if (entries.length - before >= sent) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(entries.length - before).toBe(sent);
    // No reservation is left behind, and the log verifies.
    const spend = await admin('/admin/spend');
    const scopes = JSON.stringify(spend);
    expect(scopes).toContain('reserved');
    for (const match of scopes.matchAll(/"reserved_micros":(\d+)/g)) expect(Number(match[1])).toBe(0);
    expect((await admin('/admin/audit/verify')).ok).toBe(true);
  }, 90_000);
});
