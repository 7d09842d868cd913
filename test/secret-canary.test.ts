// The canary test: every secret variable (provider API keys, admin keys, virtual keys, the webhook URL's token) holds
// a canary; every route is driven, with failures and upstreams that quote the key and echo the request; then every
// output (responses, the server's pino log, /metrics, ledger entries, audit export, config check, spend export, the
// store's files) is searched for it. Guards: core/secrets.ts (provider errors scrubbed), config/secret-value.ts (the
// resolved config never prints a secret), the logger's redaction in gateway/server.ts, and salted digests at rest.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCovenant, startServe, type ServeProcess } from './helpers/process.js';

const canary = (kind: string) => `sk-${kind}-${randomBytes(12).toString('hex')}`;
const secrets = {
  OPENAI_KEY: canary('openai'), ANTHROPIC_KEY: canary('anthropic'), GEMINI_KEY: canary('gemini'),
  ADMIN_KEY: canary('admin'), AUDITOR_KEY: canary('auditor'), BOT_KEY: canary('bot'), OTHER_KEY: canary('other'),
};
const webhookToken = randomBytes(12).toString('hex');
/** What must never appear: each canary's random part, and its first 8 characters (a truncated quote). */
const needles = [...Object.values(secrets).map((value) => value.split('-').at(-1)!), webhookToken].flatMap((value) => [value, value.slice(0, 8)]);

/** One host that plays OpenAI, Anthropic, Gemini and a webhook, quoting the credential it was sent and echoing the body. */
function quotingUpstream(): Promise<Server> {
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let body = '';
    request.on('data', (chunk) => { body += chunk; });
    request.on('end', () => {
      const url = new URL(request.url ?? '/', 'http://upstream');
      const given = String(request.headers.authorization ?? request.headers['x-api-key'] ?? request.headers['x-goog-api-key'] ?? url.searchParams.get('key') ?? '');
      const quote = (status: number) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: { message: `Incorrect API key provided: ${given} (starts ${given.slice(0, 14)}) for ${request.url}; you sent ${body}`, type: 'invalid_request_error', code: 'invalid_api_key' } }));
      };
      if (url.pathname.startsWith('/hook')) return quote(500);
      if (url.pathname === '/v1/chat/completions' && !body.includes('fail') && !body.includes('boom')) {
        const parsed = JSON.parse(body) as { stream?: boolean };
        if (parsed.stream) {
          response.writeHead(200, { 'content-type': 'text/event-stream' });
          response.write(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, delta: { content: 'Hel' }, finish_reason: null }] })}\n\n`);
          response.end(`data: ${JSON.stringify({ error: { message: `quota exceeded for key ${given}; request was ${body}` } })}\n\n`);
          return;
        }
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({
          id: 'c1', object: 'chat.completion', created: 1, model: 'gpt-4o-mini',
          choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
        }));
        return;
      }
      quote(body.includes('boom') ? 500 : 401);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

let upstream: Server;
let serve: ServeProcess;
let directory: string;
let configFile: string;
/** Every output collected, labelled by where it came from. */
const outputs: { where: string; text: string }[] = [];
let createdSecret = '';

const send = async (where: string, path: string, init: { method?: string; key?: string; body?: unknown; headers?: Record<string, string> } = {}) => {
  const response = await fetch(`${serve.url}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { ...(init.key === undefined ? {} : { authorization: `Bearer ${init.key}`, 'x-api-key': init.key }), 'content-type': 'application/json', ...init.headers },
    body: init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
  });
  const text = await response.text();
  outputs.push({ where: `${where}: ${init.method ?? (init.body === undefined ? 'GET' : 'POST')} ${path} → ${response.status}`, text: `${JSON.stringify([...response.headers])}\n${text}` });
  return { status: response.status, text };
};

beforeAll(async () => {
  upstream = await quotingUpstream();
  const base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  directory = mkdtempSync(join(tmpdir(), 'covenant-canary-'));
  configFile = join(directory, 'covenant.yaml');
  writeFileSync(configFile, `
store: sqlite:${join(directory, 'covenant.db')}
admin_keys:
  - { name: ops, key_env: ADMIN_KEY }
  - { name: auditor, key_env: AUDITOR_KEY, role: auditor }
providers:
  - { name: openai, type: openai-compatible, base_url: ${base}/v1, api_key_env: OPENAI_KEY }
  - { name: anthropic, type: anthropic, base_url: ${base}, api_key_env: ANTHROPIC_KEY }
  - { name: gemini, type: gemini, base_url: ${base}, api_key_env: GEMINI_KEY }
  - { name: mock, type: mock }
models:
  - { alias: gpt, provider: openai, version: gpt-4o-mini, price: { input_per_mtok: 1, output_per_mtok: 1 } }
  - { alias: claude, provider: anthropic, version: claude-3-5-haiku-20241022, price: { input_per_mtok: 1, output_per_mtok: 1 } }
  - { alias: gem, provider: gemini, version: gemini-2.0-flash, price: { input_per_mtok: 1, output_per_mtok: 1 } }
  - { alias: demo, provider: mock, version: mock-gpt-1 }
org:
  name: acme
  departments:
    - name: claims
      retention: { content: full }
      budgets: [ { usd: 1, period: day } ]
      alerts: { thresholds: [0.000001], webhook: '${base}/hook?token=${webhookToken}' }
      keys:
        - { name: bot, key_env: BOT_KEY }
        - { name: other, key_env: OTHER_KEY }
`);
  serve = await startServe({ config: configFile, environment: secrets });
});

afterAll(async () => {
  await serve?.stop('SIGTERM');
  await new Promise((resolve) => upstream?.close(resolve));
  if (directory) rmSync(directory, { recursive: true, force: true });
});

const chat = (model: string, content: string, extra: Record<string, unknown> = {}) => ({ model, messages: [{ role: 'user', content }], max_tokens: 8, ...extra });

describe('a canary in every secret', () => {
  it('drives every route, failures included', async () => {
    const bot = secrets.BOT_KEY;
    for (const model of ['gpt', 'claude', 'gem', 'demo']) {
      await send('chat ok', '/v1/chat/completions', { key: bot, body: chat(model, 'hello') });
      await send('chat upstream 401', '/v1/chat/completions', { key: bot, body: chat(model, 'please fail') });
      await send('chat upstream 500', '/v1/chat/completions', { key: bot, body: chat(model, 'boom') });
      await send('chat stream error event', '/v1/chat/completions', { key: bot, body: chat(model, 'hello', { stream: true }) });
      await send('messages', '/v1/messages', { key: bot, body: chat(model, 'please fail') });
      await send('responses', '/v1/responses', { key: bot, body: { model, input: 'please fail', max_output_tokens: 16 } });
      await send('embeddings', '/v1/embeddings', { key: bot, body: { model, input: 'please fail' } });
    }
    // Wrong, missing and malformed credentials, and bodies that carry a key.
    for (const path of ['/v1/chat/completions', '/v1/messages', '/v1/responses', '/v1/embeddings', '/v1/models']) {
      await send('wrong key', path, { key: `${bot}x`, body: chat('gpt', 'hi') });
      await send('admin key as virtual key', path, { key: secrets.ADMIN_KEY, body: chat('gpt', 'hi') });
      // (A client's own body is its content, stored as its department's retention says; it carries no canary here.)
      await send('bad json', path, { key: bot, body: '{"model": "gpt", "messages": [' });
      await send('invalid body', path, { key: bot, body: { model: 42, messages: 'none', input: { nested: [null] } } });
    }
    await send('models', '/v1/models', { key: bot });
    await send('health', '/healthz');
    await send('metrics', '/metrics');
    // An admin-made key: its secret is answered once, in that response only (kept out of the search below).
    const created = await send('create key', '/admin/keys', { key: secrets.ADMIN_KEY, body: { department: 'claims', name: 'made' } });
    createdSecret = (JSON.parse(created.text) as { key: string }).key;
    outputs.pop();
    needles.push(createdSecret.split('.').at(-1)!);
    await send('made key', '/v1/chat/completions', { key: createdSecret, body: chat('gpt', 'please fail') });
    // Every admin route in the README's roles table, as admin, auditor, a virtual key and a wrong key.
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const routes = [...readme.matchAll(/^\| `(GET|POST|DELETE|PUT|PATCH) (\/admin\/[^`]+)` \|/gm)].map((match) => [match[1]!, match[2]!] as const);
    expect(routes.length).toBeGreaterThan(10);
    for (const [method, route] of routes) {
      const path = route.replaceAll(/:[a-z]+/g, '1');
      const body = method === 'POST' ? { department: 'claims', name: secrets.OTHER_KEY, reason: secrets.BOT_KEY } : undefined;
      for (const key of [secrets.ADMIN_KEY, secrets.AUDITOR_KEY, bot, `${secrets.ADMIN_KEY}x`]) await send('admin', path, { method, key, body });
    }
    for (const format of ['focus', 'csv', 'json']) await send('spend export', `/admin/spend/export?format=${format}`, { key: secrets.ADMIN_KEY });
    await send('audit export', '/admin/audit/export', { key: secrets.ADMIN_KEY });
    await send('requests', '/admin/requests', { key: secrets.ADMIN_KEY });
    await send('metrics after', '/metrics');
    // The alert's webhook delivery has failed by now (the hook answers 500 quoting its URL).
    for (let attempt = 0; attempt < 50; attempt++) {
      const alerts = await send('alerts', '/admin/alerts', { key: secrets.ADMIN_KEY });
      if (alerts.text.includes('"attempts":') && !alerts.text.includes('"pending"')) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }, 120_000);

  it('finds it in no output: responses, logs, metrics, ledger, exports, config check, the store', async () => {
    const environment = { ...secrets, COVENANT_ADMIN_KEY: secrets.ADMIN_KEY };
    const cli = async (where: string, args: string[]) => {
      const result = await runCovenant(args, { cwd: directory, environment });
      outputs.push({ where: `cli ${where} (exit ${result.code})`, text: result.stdout + result.stderr });
    };
    await cli('config check', ['config', 'check', '--config', configFile]);
    await cli('config check --json', ['config', 'check', '--config', configFile, '--json']);
    await cli('audit export', ['audit', 'export', '--config', configFile, '--out', join(directory, 'bundle.json')]);
    await cli('audit entries', ['audit', 'entries', '--config', configFile, '--limit', '100000', '--json']);
    await cli('spend export', ['spend', 'export', '--config', configFile, '--format', 'csv']);
    await cli('spend', ['spend', '--config', configFile, '--json']);
    outputs.push({ where: 'audit export bundle', text: readFileSync(join(directory, 'bundle.json'), 'utf8') });
    await serve.stop('SIGTERM');
    outputs.push({ where: 'server log (stdout and stderr)', text: serve.output() });
    for (const file of readdirSync(directory)) {
      if (file.startsWith('covenant.db')) outputs.push({ where: `store file ${file}`, text: readFileSync(join(directory, file)).toString('latin1') });
    }
    // The test would pass vacuously if the upstream never quoted anything: it did, and the ledger has the refusals.
    expect(outputs.some((output) => output.text.includes('redacted'))).toBe(true);
    expect(serve.output().length).toBeGreaterThan(0);
    // The store keeps the webhook URL to deliver to (as the config file does); it is never shown, logged or on the ledger.
    const searched = (output: { where: string }) => (output.where.startsWith('store file') ? needles.filter((needle) => !webhookToken.startsWith(needle)) : needles);
    const leaks = outputs.flatMap((output) => searched(output).filter((needle) => output.text.includes(needle)).map((needle) => `${output.where}: …${output.text.slice(Math.max(0, output.text.indexOf(needle) - 120), output.text.indexOf(needle) + 40)}…`));
    expect(leaks).toEqual([]);
  }, 120_000);
});
