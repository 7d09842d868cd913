// A stream's system_fingerprint is recorded whichever chunk names it: the first, or only the last (as some
// OpenAI-compatible servers send it), in any JSON spacing; a stream that never names one records null.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const head = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1700000000, model: 'gpt-4o-mini' };
const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => JSON.stringify({ ...head, ...extra, choices });
/** Python's json.dumps spacing, as vLLM and other OpenAI-compatible servers send it. */
const spaced = (text: string) => text.replace(/":/g, '": ').replace(/,"/g, ', "');

/** Each path's SSE events; none has usage, so the last chunk is passed through as text and parsed only if read. */
const scripts: Record<string, string[]> = {
  '/late/chat/completions': [
    chunk([{ index: 0, delta: { role: 'assistant', content: 'Hi' }, finish_reason: null }]),
    spaced(chunk([{ index: 0, delta: {}, finish_reason: 'stop' }], { system_fingerprint: 'fp_late' })),
  ],
  '/none/chat/completions': [
    chunk([{ index: 0, delta: { role: 'assistant', content: 'Hi' }, finish_reason: null }]),
    chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]),
  ],
};

let upstream: Server;
let gateway: TestGateway;

beforeAll(async () => {
  upstream = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.end([...scripts[request.url ?? '']!, '[DONE]'].map((data) => `data: ${data}\n\n`).join(''));
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  gateway = await startTestGateway(`
store: sqlite:{{DB}}
providers:
  - { name: late, type: openai, base_url: ${url}/late }
  - { name: none, type: openai, base_url: ${url}/none }
models:
  - { alias: late, provider: late, version: gpt-4o-mini, price: { input_per_mtok: 1, output_per_mtok: 1 } }
  - { alias: none, provider: none, version: gpt-4o-mini, price: { input_per_mtok: 1, output_per_mtok: 1 } }
org:
  name: acme
  departments:
    - name: apps
      keys: [ { name: app, key_env: APP_KEY } ]
`, { APP_KEY: 'sk-app-stream-fingerprint' });
});

afterAll(async () => {
  await gateway?.stop();
  upstream?.close();
});

async function streamedFingerprint(alias: string): Promise<unknown> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: 'Bearer sk-app-stream-fingerprint', 'content-type': 'application/json' },
    body: JSON.stringify({ model: alias, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
  });
  expect(response.status).toBe(200);
  expect(await response.text()).toContain('data: [DONE]');
  await gateway.stores.ledger.flush();
  const entries = await gateway.stores.ledger.entries({ kind: 'inference', limit: 1000 });
  return (entries.map((stored) => stored.entry as Record<string, unknown>).find((entry) => entry.alias === alias))?.system_fingerprint;
}

describe('a stream\'s system fingerprint', () => {
  it('is read from the last chunk when only that one names it (spaced JSON)', async () => {
    expect(await streamedFingerprint('late')).toBe('fp_late');
  });

  it('is null when no chunk names one', async () => {
    expect(await streamedFingerprint('none')).toBeNull();
  });
});
