// The admin surface as each kind of admin key sees it: role and department scope on every /admin route, reload
// only for an unscoped admin, a route without declared access refused at startup, and the 503 while shutting down.
import { connect } from 'node:net';
import type { FastifyInstance } from 'fastify';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../src/gateway/server.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const secrets = {
  ADMIN_KEY: 'sk-surface-admin', CLAIMS_ADMIN_KEY: 'sk-surface-claims-admin', AUDITOR_KEY: 'sk-surface-auditor',
  CLAIMS_AUDITOR_KEY: 'sk-surface-claims-auditor', CLAIMS_KEY: 'sk-surface-claims', HR_KEY: 'sk-surface-hr',
};

const text = `
store: sqlite:{{DB}}
admin_keys:
  - { name: ops, key_env: ADMIN_KEY }
  - { name: claims-admin, key_env: CLAIMS_ADMIN_KEY, department: claims }
  - { name: auditor, key_env: AUDITOR_KEY, role: auditor }
  - { name: claims-auditor, key_env: CLAIMS_AUDITOR_KEY, role: auditor, department: claims }
providers: [ { name: mock, type: mock } ]
models:
  - { alias: demo, provider: mock, version: mock-gpt-1 }
org:
  name: acme
  departments:
    - name: claims
      retention: { content: full }
      budgets: [ { usd: 1, period: day } ]
      alerts: { thresholds: [0.000001] }
      keys: [ { name: claims-bot, key_env: CLAIMS_KEY } ]
    - name: hr
      retention: { content: full }
      budgets: [ { usd: 1, period: day } ]
      alerts: { thresholds: [0.000001] }
      keys: [ { name: hr-bot, key_env: HR_KEY } ]
`;

let gateway: TestGateway;

const call = (path: string, key: string, init: RequestInit = {}) =>
  fetch(`${gateway.url}${path}`, { ...init, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });
const json = async (path: string, key: string) => {
  const response = await call(path, key);
  expect(response.status).toBe(200);
  return response.json() as Promise<any>;
};

beforeAll(async () => {
  gateway = await startTestGateway(text, secrets);
  for (const key of [secrets.CLAIMS_KEY, secrets.HR_KEY]) {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key, maxRetries: 0 });
    await client.chat.completions.create({ model: 'demo', messages: [{ role: 'user', content: 'hello' }], max_tokens: 8 });
  }
  // Alerts are recorded after the answer is sent.
  for (let attempt = 0; attempt < 100; attempt++) {
    if ((await json('/admin/alerts', secrets.ADMIN_KEY)).data.length >= 2) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}, 30_000);

afterAll(async () => gateway?.stop());

describe('POST /admin/reload', () => {
  it('refuses a department-scoped admin and every auditor with 403 forbidden; an unscoped admin reloads', async () => {
    for (const key of [secrets.CLAIMS_ADMIN_KEY, secrets.AUDITOR_KEY, secrets.CLAIMS_AUDITOR_KEY]) {
      const refused = await call('/admin/reload', key, { method: 'POST' });
      expect(refused.status).toBe(403);
      expect((await refused.json()).error).toMatchObject({ code: 'forbidden', type: 'permission_error' });
    }
    const reloaded = await call('/admin/reload', secrets.ADMIN_KEY, { method: 'POST' });
    expect(reloaded.status).toBe(200);
    expect(await reloaded.json()).toMatchObject({ reloaded: true });
    const reloads = (await json('/admin/audit/entries?kind=config.reloaded', secrets.ADMIN_KEY)).data;
    expect(reloads.map((entry: { by: string }) => entry.by)).toEqual(['admin:ops']);
  });
});

describe('keys', () => {
  const create = (key: string, department: string) =>
    call('/admin/keys', key, { method: 'POST', body: JSON.stringify({ department, name: `made-by-${key.slice(11)}` }) });

  it("lets a department-scoped admin create and revoke its own department's keys only", async () => {
    expect((await create(secrets.CLAIMS_ADMIN_KEY, 'hr')).status).toBe(403);
    const created = await create(secrets.CLAIMS_ADMIN_KEY, 'claims');
    expect(created.status).toBe(201);
    const own = await created.json();
    const hrKey = await (await create(secrets.ADMIN_KEY, 'hr')).json();
    expect(hrKey.department).toBe('hr');
    const refused = await call(`/admin/keys/${hrKey.id}`, secrets.CLAIMS_ADMIN_KEY, { method: 'DELETE' });
    expect(refused.status).toBe(403);
    expect((await refused.json()).error.message).toContain('scoped to department "claims"');
    expect((await call(`/admin/keys/${own.id}`, secrets.CLAIMS_ADMIN_KEY, { method: 'DELETE' })).status).toBe(200);
    expect((await call(`/admin/keys/${hrKey.id}`, secrets.ADMIN_KEY, { method: 'DELETE' })).status).toBe(200);
  });

  it('refuses every write to auditors, scoped or not', async () => {
    const claimsKey = (await json('/admin/keys', secrets.ADMIN_KEY)).data.find((key: { name: string }) => key.name === 'claims-bot');
    for (const key of [secrets.AUDITOR_KEY, secrets.CLAIMS_AUDITOR_KEY]) {
      const refused = await create(key, 'claims');
      expect(refused.status).toBe(403);
      expect((await refused.json()).error.message).toContain('read-only (role auditor)');
      expect((await call(`/admin/keys/${claimsKey.id}`, key, { method: 'DELETE' })).status).toBe(403);
    }
    expect((await json('/admin/keys', secrets.ADMIN_KEY)).data.find((key: { id: string }) => key.id === claimsKey.id).revoked_at).toBeNull();
  });
});

describe("department scope on every route that reads", () => {
  const departmentsOf = (rows: { department?: string }[]) => [...new Set(rows.map((row) => row.department))].sort();

  it('shows a department-scoped key only its department, and an unscoped key every department', async () => {
    for (const key of [secrets.CLAIMS_ADMIN_KEY, secrets.CLAIMS_AUDITOR_KEY]) {
      expect(departmentsOf((await json('/admin/keys', key)).data)).toEqual(['claims']);
      expect(departmentsOf((await json('/admin/requests', key)).data)).toEqual(['claims']);
      expect(departmentsOf((await json('/admin/audit/entries', key)).data)).toEqual(['claims']);
      expect(departmentsOf((await json('/admin/audit/entries?department=hr', key)).data)).toEqual(['claims']);
      expect(departmentsOf((await json('/admin/audit/export', key)).entries.map((item: { entry: object }) => item.entry))).toEqual(['claims']);
      const spend = (await json('/admin/spend', key)).scopes.map((entry: { scope: string }) => entry.scope);
      expect(spend).toContain('department:claims');
      expect(spend.filter((scope: string) => scope === 'org' || scope.includes('hr'))).toEqual([]);
      const alerts = (await json('/admin/alerts', key)).data.map((alert: { scope: string }) => alert.scope);
      expect(alerts).toEqual(['department:claims']);
    }
    for (const key of [secrets.ADMIN_KEY, secrets.AUDITOR_KEY]) {
      expect(departmentsOf((await json('/admin/keys', key)).data)).toEqual(['claims', 'hr']);
      expect(departmentsOf((await json('/admin/requests', key)).data)).toEqual(['claims', 'hr']);
      const inferences = (await json('/admin/audit/entries?kind=inference', key)).data;
      expect(departmentsOf(inferences)).toEqual(['claims', 'hr']);
      expect((await json('/admin/alerts', key)).data.map((alert: { scope: string }) => alert.scope).sort()).toEqual(['department:claims', 'department:hr']);
    }
  });

  it("hides another department's entry, proof and content, and keeps whole-log verification for unscoped keys", async () => {
    const inferences = (await json('/admin/audit/entries?kind=inference', secrets.ADMIN_KEY)).data as { seq: number; department: string }[];
    const hr = inferences.find((entry) => entry.department === 'hr')!;
    const claims = inferences.find((entry) => entry.department === 'claims')!;
    for (const key of [secrets.CLAIMS_ADMIN_KEY, secrets.CLAIMS_AUDITOR_KEY]) {
      expect((await call(`/admin/audit/proof?index=${hr.seq}`, key)).status).toBe(404);
      expect((await call(`/admin/audit/content/${hr.seq}`, key)).status).toBe(404);
      expect((await call(`/admin/audit/proof?index=${claims.seq}`, key)).status).toBe(200);
      expect((await call(`/admin/audit/content/${claims.seq}`, key)).status).toBe(200);
      const verify = await call('/admin/audit/verify', key);
      expect(verify.status).toBe(403);
      expect((await verify.json()).error.code).toBe('forbidden');
    }
    for (const key of [secrets.ADMIN_KEY, secrets.AUDITOR_KEY]) {
      expect((await json('/admin/audit/verify', key)).ok).toBe(true);
      expect((await call(`/admin/audit/content/${hr.seq}`, key)).status).toBe(200);
    }
  });
});

describe('authentication', () => {
  const routes = [
    ['GET', '/admin/keys'], ['POST', '/admin/keys'], ['DELETE', '/admin/keys/some-id'], ['GET', '/admin/requests'], ['POST', '/admin/reload'],
    ['GET', '/admin/spend'], ['GET', '/admin/alerts'], ['GET', '/admin/audit/head'], ['GET', '/admin/audit/public-key'],
    ['GET', '/admin/audit/entries'], ['GET', '/admin/audit/proof?index=0'], ['GET', '/admin/audit/consistency?from=1&to=2'],
    ['GET', '/admin/audit/content/0'], ['GET', '/admin/audit/export'], ['GET', '/admin/audit/verify'],
  ] as const;

  it('refuses every admin route without a key (401 missing_api_key) and with a user key (401 invalid_api_key)', async () => {
    for (const [method, path] of routes) {
      const missing = await fetch(`${gateway.url}${path}`, { method });
      expect([path, missing.status, (await missing.json()).error.code]).toEqual([path, 401, 'missing_api_key']);
      const user = await call(path, secrets.CLAIMS_KEY, { method, body: method === 'POST' ? '{}' : undefined });
      expect([path, user.status, (await user.json()).error.code]).toEqual([path, 401, 'invalid_api_key']);
    }
    // The HEAD routes Fastify adds for each GET are behind the same hook.
    expect((await fetch(`${gateway.url}/admin/keys`, { method: 'HEAD' })).status).toBe(401);
    expect((await call('/admin/keys', secrets.ADMIN_KEY, { method: 'HEAD' })).status).toBe(200);
  });

  it('fails at startup when an admin route does not declare its access', async () => {
    const open = (admin: FastifyInstance) => { admin.get('/open', async () => ({ open: true })); };
    const server = createServer({ gateway: gateway.gateway, bodyLimit: 1024, adminRoutes: [open] });
    await expect(server.ready()).rejects.toThrow(/admin route GET \/admin\/open must declare config\.access/);
    await server.close().catch(() => undefined);
    const declared = (admin: FastifyInstance) => { admin.get('/declared', { config: { access: 'read' } }, async () => ({ ok: true })); };
    const good = createServer({ gateway: gateway.gateway, bodyLimit: 1024, adminRoutes: [declared] });
    expect((await good.inject({ url: '/admin/declared' })).statusCode).toBe(401);
    expect((await good.inject({ url: '/admin/declared', headers: { authorization: `Bearer ${secrets.CLAIMS_AUDITOR_KEY}` } })).json()).toEqual({ ok: true });
    await good.close();
  });
});

describe('shutting down', () => {
  it('answers a request that arrives on an open connection while closing with 503 shutting_down in the OpenAI shape', async () => {
    const slow = await startTestGateway(text.replace('type: mock }', 'type: mock, latency_ms: 400 }'), secrets);
    try {
      const { port } = new URL(slow.url);
      const socket = connect(Number(port), '127.0.0.1');
      let received = '';
      socket.on('data', (data: Buffer) => { received += data.toString(); });
      const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
      const body = JSON.stringify({ model: 'demo', messages: [{ role: 'user', content: 'in flight' }], max_tokens: 4 });
      const chat = `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${secrets.CLAIMS_KEY}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
      socket.write(chat);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const closing = slow.close();
      await new Promise((resolve) => setTimeout(resolve, 50));
      socket.write(`GET /admin/keys HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${secrets.ADMIN_KEY}\r\n\r\n`);
      await closing;
      await ended;
      const responses = received.split(/(?=HTTP\/1\.1 )/);
      expect(responses).toHaveLength(2);
      expect(responses[0]).toMatch(/^HTTP\/1\.1 200 /);
      expect(responses[1]).toMatch(/^HTTP\/1\.1 503 /);
      expect(responses[1]).toMatch(/\r\nconnection: close\r\n/i);
      const refusal = JSON.parse(responses[1]!.slice(responses[1]!.indexOf('\r\n\r\n') + 4));
      expect(refusal).toEqual({ error: { message: 'Covenant is shutting down.', type: 'server_error', code: 'shutting_down', param: null } });
    } finally {
      await slow.stop();
    }
  });
});
