// The evidence ledger through the gateway: every inference (allowed or refused) and governance event is an entry,
// content is kept only as each department's retention says, a department's auditor sees only that department,
// and `covenant audit verify` / `verify-bundle` catch tampering.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { verifyInclusion } from '../src/core/merkle.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../bin/covenant', import.meta.url));
const secrets = { ADMIN_KEY: 'sk-ledger-admin-secret', AUDITOR_KEY: 'sk-ledger-auditor-secret', CLAIMS_KEY: 'sk-ledger-claims-secret', HR_KEY: 'sk-ledger-hr-secret' };
let gateway: TestGateway;
let database: string;

const text = `
store: sqlite:{{DB}}
admin_keys:
  - { name: ops, key_env: ADMIN_KEY }
  - { name: claims-auditor, key_env: AUDITOR_KEY, role: auditor, department: claims }
providers: [ { name: mock, type: mock } ]
models:
  - { alias: demo, provider: mock, version: mock-gpt-1 }
  - { alias: other, provider: mock, version: mock-gpt-2 }
org:
  name: acme
  departments:
    - name: claims
      retention: { content: redacted, days: 30 }
      budgets: [ { usd: 0.0003, period: day } ]
      alerts: { thresholds: [0.5] }
      keys: [ { name: triage-bot, key_env: CLAIMS_KEY, models: [demo] } ]
    - name: hr
      keys: [ { name: hr-bot, key_env: HR_KEY } ]
`;

const admin = (path: string, key = secrets.ADMIN_KEY, init: RequestInit = {}) =>
  fetch(`${gateway.url}${path}`, { ...init, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });
const entries = async (key = secrets.ADMIN_KEY) => (await (await admin('/admin/audit/entries?limit=1000', key)).json()).data as Record<string, any>[];

beforeAll(async () => {
  gateway = await startTestGateway(text, secrets);
  database = join(gateway.directory, 'covenant.db');
  const claims = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: secrets.CLAIMS_KEY, maxRetries: 0 });
  const hr = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: secrets.HR_KEY, maxRetries: 0 });
  await claims.chat.completions.create({ model: 'demo', messages: [{ role: 'user', content: 'Customer jane.doe@example.com paid with 4111 1111 1111 1111' }], max_tokens: 8 });
  await hr.chat.completions.create({ model: 'other', messages: [{ role: 'user', content: 'an hr question' }], max_tokens: 8 });
  await claims.chat.completions.create({ model: 'other', messages: [{ role: 'user', content: 'not my model' }] }).catch(() => undefined);
  // Spend the claims budget until it refuses.
  for (let attempt = 0; attempt < 40; attempt++) {
    const refused = await claims.chat.completions.create({ model: 'demo', messages: [{ role: 'user', content: 'spend spend spend' }] }).then(() => false, (error) => error.status === 402);
    if (refused) break;
  }
}, 60_000);

afterAll(async () => gateway?.stop());

describe('inference entries', () => {
  it('records allowed calls with the pinned version, hashes, tokens and cost, and never a secret', async () => {
    const all = await entries();
    const first = all.find((entry) => entry.kind === 'inference' && entry.department === 'claims')!;
    expect(first).toMatchObject({
      key: 'triage-bot', alias: 'demo', provider: 'mock', model_version: 'mock-gpt-1', upstream_model: 'mock-gpt-1',
      system_fingerprint: 'fp_mock', decision: { outcome: 'allowed' }, status: 200, config_version: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(first.request_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(first.response_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(first.tokens.output).toBe(8);
    expect(first.cost_usd_micros).toBeGreaterThan(0);
    const raw = JSON.stringify(all) + readFileSync(database).toString('latin1');
    for (const secret of Object.values(secrets)) expect(raw).not.toContain(secret);
  });

  it('says a budget lowered max_tokens only when it did', async () => {
    const claims = (await entries()).filter((entry) => entry.kind === 'inference' && entry.department === 'claims' && entry.decision.outcome === 'allowed');
    // The first call asked for 8 tokens, which the budget afforded: nothing was lowered.
    expect(claims[0]!.decision).toEqual({ outcome: 'allowed', max_tokens: 8 });
    // The calls that asked for no limit were cut to what the $0.0003 budget afforded.
    const lowered = claims.filter((entry) => entry.decision.lowered_max_tokens === true);
    expect(lowered.length).toBeGreaterThan(0);
    for (const entry of lowered) expect(entry.decision).toMatchObject({ policy: 'budget', max_tokens: expect.any(Number) });
  });

  it('records refusals with the policy that refused them', async () => {
    const refusals = (await entries()).filter((entry) => entry.kind === 'inference' && entry.decision.outcome === 'refused');
    expect(refusals.find((entry) => entry.decision.reason === 'model_not_allowed')).toMatchObject({ decision: { policy: 'access' }, status: 403 });
    const budget = refusals.find((entry) => entry.decision.reason === 'budget_exceeded');
    expect(budget).toMatchObject({ decision: { policy: 'budget' }, status: 402, department: 'claims' });
    expect(budget!.decision.message).toContain('department:claims');
  });
});

describe('refusals before the pipeline', () => {
  const post = (path: string, body: string, headers: Record<string, string>) =>
    fetch(`${gateway.url}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  const treeSize = async () => (await (await admin('/admin/audit/head')).json()).tree_size as number;

  it('records a valid key\'s request refused for an unknown alias, an invalid body or invalid JSON, and shows it in /admin/requests', async () => {
    const claims = { authorization: `Bearer ${secrets.CLAIMS_KEY}` };
    const cases = [
      { path: '/v1/chat/completions', body: JSON.stringify({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] }), headers: claims, status: 404, reason: 'model_not_found', alias: 'no-such-model', policy: 'access', route: 'chat' },
      { path: '/v1/chat/completions', body: JSON.stringify({ model: 'demo', messages: [] }), headers: claims, status: 400, reason: 'invalid_request', alias: 'demo', policy: 'request', route: 'chat' },
      { path: '/v1/chat/completions', body: '{"model": "demo", ', headers: claims, status: 400, reason: 'invalid_json', alias: null, policy: 'request', route: 'chat' },
      { path: '/v1/embeddings', body: JSON.stringify({ model: 'demo' }), headers: claims, status: 400, reason: 'invalid_request', alias: 'demo', policy: 'request', route: 'embeddings' },
      { path: '/v1/messages', body: JSON.stringify({ model: 'no-such-model', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }), headers: { 'x-api-key': secrets.HR_KEY }, status: 404, reason: 'model_not_found', alias: 'no-such-model', policy: 'access', route: 'messages' },
    ];
    for (const refused of cases) {
      const response = await post(refused.path, refused.body, refused.headers);
      expect(response.status).toBe(refused.status);
      const id = response.headers.get('x-covenant-request-id');
      expect(id).toMatch(/^req_/);
      const entry = (await entries()).find((candidate) => candidate.request_id === id);
      expect(entry).toMatchObject({
        kind: 'inference', route: refused.route, alias: refused.alias, provider: null, model_version: null, status: refused.status,
        request_sha256: expect.stringMatching(/^[0-9a-f]{64}$/), decision: { outcome: 'refused', reason: refused.reason, policy: refused.policy },
      });
      const row = (await (await admin('/admin/requests?limit=1000')).json()).data.find((candidate: { id: string }) => candidate.id === id);
      expect(row).toMatchObject({ route: refused.route, alias: refused.alias, provider: null, status: refused.status, error_code: refused.reason, cost_micros: 0 });
    }
  });

  it('does not record requests without a valid key', async () => {
    const before = await treeSize();
    expect((await post('/v1/chat/completions', '{"model": ', { authorization: 'Bearer sk-not-a-key' })).status).toBe(400);
    expect((await post('/v1/chat/completions', JSON.stringify({ model: 'no-such-model', messages: [] }), { authorization: 'Bearer sk-not-a-key' })).status).toBe(401);
    expect((await post('/v1/messages', '{', {})).status).toBe(400);
    expect(await treeSize()).toBe(before);
  });
});

describe('startup', () => {
  it('records the config version and store the gateway started with', async () => {
    const started = (await entries()).filter((entry) => entry.kind === 'gateway.started');
    expect(started).toHaveLength(1);
    expect(started[0]).toMatchObject({ seq: 0, store: 'sqlite', config_version: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });
});

describe('content retention', () => {
  it('stores redacted content for a redacted department, none for the default', async () => {
    const all = await entries();
    const claims = all.find((entry) => entry.kind === 'inference' && entry.department === 'claims')!;
    const content = await (await admin(`/admin/audit/content/${claims.seq}`)).json();
    expect(JSON.stringify(content)).not.toContain('jane.doe@example.com');
    expect(JSON.stringify(content)).not.toContain('4111 1111 1111 1111');
    expect(JSON.stringify(content)).toContain('[EMAIL]');
    const hr = all.find((entry) => entry.kind === 'inference' && entry.department === 'hr')!;
    expect((await admin(`/admin/audit/content/${hr.seq}`)).status).toBe(404);
  });
});

describe('tenant isolation', () => {
  it("gives a department's auditor only its entries, and proofs that still verify against the whole tree", async () => {
    const seen = await entries(secrets.AUDITOR_KEY);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((entry) => entry.department === 'claims')).toBe(true);
    const hr = (await entries()).find((entry) => entry.department === 'hr')!;
    expect((await admin(`/admin/audit/proof?index=${hr.seq}`, secrets.AUDITOR_KEY)).status).toBe(404);
    expect((await admin(`/admin/audit/content/${hr.seq}`, secrets.AUDITOR_KEY)).status).toBe(404);
    const proof = await (await admin(`/admin/audit/proof?index=${seen[0]!.seq}`, secrets.AUDITOR_KEY)).json();
    const hex = (value: string) => Buffer.from(value, 'hex');
    expect(verifyInclusion(proof.leaf_index, proof.tree_size, hex(proof.leaf_hash), proof.inclusion_path.map(hex), hex(proof.root_hash))).toBe(true);
    // The auditor reads but cannot write.
    expect((await admin('/admin/keys', secrets.AUDITOR_KEY, { method: 'POST', body: JSON.stringify({ department: 'claims', name: 'x' }) })).status).toBe(403);
    expect((await admin('/admin/requests?limit=100', secrets.AUDITOR_KEY).then((response) => response.json())).data.every((row: { department: string }) => row.department === 'claims')).toBe(true);
  });
});

describe('governance events', () => {
  it('records key creation and revocation, config reloads, budget changes and alerts', async () => {
    const created = await (await admin('/admin/keys', secrets.ADMIN_KEY, { method: 'POST', body: JSON.stringify({ department: 'hr', name: 'temp-bot' }) })).json();
    await admin(`/admin/keys/${created.id}`, secrets.ADMIN_KEY, { method: 'DELETE' });
    const file = join(gateway.directory, 'covenant.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('usd: 0.0003, period: day', 'usd: 0.0005, period: day'));
    expect((await admin('/admin/reload', secrets.ADMIN_KEY, { method: 'POST' })).status).toBe(200);
    const all = await entries();
    expect(all.find((entry) => entry.kind === 'key.created')).toMatchObject({ key: 'temp-bot', department: 'hr', by: 'ops' });
    expect(all.find((entry) => entry.kind === 'key.revoked')).toMatchObject({ key: 'temp-bot', key_id: created.id });
    expect(all.find((entry) => entry.kind === 'config.reloaded')).toMatchObject({ by: 'admin:ops' });
    expect(all.find((entry) => entry.kind === 'budget.changed')).toMatchObject({ scope: 'department:claims', after: [{ usd: 0.0005, period: 'day' }] });
    expect(all.find((entry) => entry.kind === 'alert.fired')).toMatchObject({ scope: 'department:claims', department: 'claims', threshold: 0.5 });
    for (const entry of all) expect(JSON.stringify(entry)).not.toContain(created.key);
  });
});

describe('verification', () => {
  it('verifies the live log, exports a bundle an auditor checks offline, and names tampering', async () => {
    await admin('/admin/audit/head');
    const verified = await (await admin('/admin/audit/verify')).json();
    expect(verified.ok).toBe(true);
    const bundle = await (await admin('/admin/audit/export')).json();
    const bundleFile = join(gateway.directory, 'bundle.json');
    writeFileSync(bundleFile, JSON.stringify(bundle));
    const ok = await run(process.execPath, [bin, 'audit', 'verify-bundle', bundleFile]);
    expect(ok.stdout).toMatch(/ok|verified/i);
    // An auditor's copy with one altered entry fails, naming it.
    const altered = structuredClone(bundle);
    altered.entries[1].entry.cost_usd_micros = 0;
    writeFileSync(bundleFile, JSON.stringify(altered));
    const bad = await run(process.execPath, [bin, 'audit', 'verify-bundle', bundleFile]).then(() => undefined, (error) => error);
    expect(bad.code).toBe(1);
    expect(bad.stderr + bad.stdout).toContain(String(altered.entries[1].entry.seq));

    // Editing a database needs a log of its own (the other tests read the shared one, in any order): a second gateway,
    // a few calls, closed.
    const own = await startTestGateway(text, secrets);
    onTestFinished(() => own.stop());
    const ownClient = new OpenAI({ baseURL: `${own.url}/v1`, apiKey: secrets.HR_KEY, maxRetries: 0 });
    for (let call = 0; call < 3; call++) await ownClient.chat.completions.create({ model: 'other', messages: [{ role: 'user', content: `call ${call}` }], max_tokens: 8 });
    await own.close();
    const ownDatabase = join(own.directory, 'covenant.db');
    const clean = await run(process.execPath, [bin, 'audit', 'verify', '--data', ownDatabase]);
    expect(clean.stdout).toMatch(/ok|verified/i);
    // An administrator edits a stored entry directly in the database: verify fails and names its sequence number.
    const sqlite = new Database(ownDatabase);
    const row = sqlite.prepare("SELECT seq, entry_json AS entry FROM ledger_entries WHERE entry_json LIKE '%\"kind\":\"inference\"%' ORDER BY seq LIMIT 1 OFFSET 2").get() as { seq: number; entry: string };
    const edited = row.entry.replace(/"status":\d+/, '"status":299');
    expect(edited).not.toBe(row.entry);
    sqlite.prepare('UPDATE ledger_entries SET entry_json = ? WHERE seq = ?').run(edited, row.seq);
    sqlite.close();
    const tampered = await run(process.execPath, [bin, 'audit', 'verify', '--data', ownDatabase]).then(() => undefined, (error) => error);
    expect(tampered.code).toBe(1);
    expect(tampered.stdout + tampered.stderr).toContain(`seq ${row.seq}`);
  });
});
