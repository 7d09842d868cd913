// A provider's error that quotes its API key (whole, truncated or masked) never reaches a caller, the ledger or the request log.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScrubber, redacted } from '../src/core/secrets.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const providerKey = 'sk-proj-Zq81xLmP0vWc4Rt7YbN2kH5s';
const userKey = 'sk-test-user-secrets';
const adminKey = 'sk-test-admin-secrets';

describe('createScrubber', () => {
  const scrub = createScrubber([providerKey, 'tok-Hw3vQe9JxUa5Lk0o']);

  it('removes a secret quoted whole, truncated or masked', () => {
    expect(scrub(`Incorrect API key provided: ${providerKey}.`)).toBe(`Incorrect API key provided: ${redacted}.`);
    expect(scrub(`key ${providerKey.slice(0, 14)}... is invalid`)).toBe(`key ${redacted} is invalid`);
    expect(scrub(`Incorrect API key provided: ${providerKey.slice(0, 12)}****${providerKey.slice(-4)}`)).toBe(`Incorrect API key provided: ${redacted}****${providerKey.slice(-4)}`);
    expect(scrub(`Bearer ${providerKey}tok-Hw3vQe9JxUa5Lk0o`)).not.toMatch(/Zq81xLmP|Hw3vQe9J/);
  });

  it('leaves ordinary text alone', () => {
    const text = 'The model `gpt-4o-mini-2024-07-18` does not exist or you do not have access to it (request req_0123456789).';
    expect(scrub(text)).toBe(text);
    expect(createScrubber([])(text)).toBe(text);
  });
});

/** An OpenAI-compatible host that quotes the credential it was sent: in a 401, and in an error event mid-stream. */
function quotingUpstream(): Promise<Server> {
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => { body += chunk; });
    request.on('end', () => {
      const given = (request.headers.authorization ?? '').replace(/^Bearer /, '');
      const parsed = JSON.parse(body) as { stream?: boolean; messages: { content: string }[] };
      if (parsed.messages[0]?.content === 'fail') {
        response.writeHead(401, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: { message: `Incorrect API key provided: ${given}. Your key starts with ${given.slice(0, 12)}.`, type: 'invalid_request_error', code: 'invalid_api_key', param: null } }));
        return;
      }
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      const chunk = { id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini-2024-07-18', choices: [{ index: 0, delta: { content: 'Hel' }, finish_reason: null }] };
      response.write(`data: ${JSON.stringify(chunk)}\n\n`);
      response.end(`data: ${JSON.stringify({ error: { message: `quota exceeded for key ${given}` } })}\n\n`);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('provider errors through the gateway', () => {
  let upstream: Server;
  let gateway: TestGateway;
  let client: OpenAI;

  beforeAll(async () => {
    upstream = await quotingUpstream();
    const port = (upstream.address() as AddressInfo).port;
    gateway = await startTestGateway(`
store: sqlite:{{DB}}
admin_keys: [ { name: ops, key_env: ADMIN_KEY } ]
providers:
  - { name: host, type: openai-compatible, api_key_env: UPSTREAM_KEY, base_url: http://127.0.0.1:${port}/v1 }
models:
  - { alias: fast, provider: host, version: gpt-4o-mini-2024-07-18 }
org:
  name: acme
  departments:
    - name: claims
      keys: [ { name: bot, key_env: USER_KEY } ]
`, { ADMIN_KEY: adminKey, USER_KEY: userKey, UPSTREAM_KEY: providerKey });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: userKey, maxRetries: 0 });
  });

  afterAll(async () => {
    await gateway?.stop();
    await new Promise((resolve) => upstream?.close(resolve));
  });

  it('keeps the provider\'s status and message but not its key, in a JSON answer', async () => {
    const failure = await client.chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'fail' }] }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    const error = failure as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(502);
    expect(error.message).toContain('Incorrect API key provided');
    expect(error.message).not.toContain(providerKey.slice(8, 16));
  });

  it('and in an error event in the middle of a stream', async () => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${userKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'fast', stream: true, messages: [{ role: 'user', content: 'stream' }] }),
    });
    const text = await response.text();
    expect(text).toContain('quota exceeded for key');
    expect(text).not.toContain(providerKey.slice(8, 16));
  });

  it('and nowhere an admin can read', async () => {
    const headers = { authorization: `Bearer ${adminKey}` };
    for (const path of ['/admin/requests?limit=100', '/admin/audit/entries?limit=1000', '/admin/audit/export']) {
      const response = await fetch(`${gateway.url}${path}`, { headers });
      expect(response.status).toBe(200);
      expect(await response.text()).not.toContain(providerKey.slice(8, 16));
    }
  });
});
