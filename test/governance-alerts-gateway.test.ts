// GET /admin/alerts through the running gateway: a silent model change, an overdue review, a bias suspension and a
// material drift each listed with their kind and webhook delivery (a receiver that fails each alert's first post),
// filtered by kind and time, scoped by department, and shown by `covenant alerts`.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatAlertTable } from '../src/cli/alerts.js';
import { main } from '../src/cli/main.js';
import { startApp, type App } from '../src/gateway/app.js';
import { fakeSystemFingerprint, startFakeOpenAI, type FakeOpenAI } from './fakes/openai.js';

const environment = { ADMIN_KEY: 'sk-admin', CLAIMS_ADMIN: 'sk-claims-admin', FINOPS: 'sk-finops', APP_KEY: 'sk-app' };

let app: App;
let directory: string;
let hook: Server;
let identityUpstream: FakeOpenAI;
let driftUpstream: FakeOpenAI;
/** Every post the receiver got: its path, the alert's event (or kind) and the status it answered. */
const posts: { path: string; event: string; status: number }[] = [];

beforeAll(async () => {
  // Each alert's first post is answered 500, its second 200: every delivery takes two attempts.
  const seen = new Set<string>();
  hook = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk) => { text += chunk; });
    request.on('end', () => {
      const body = JSON.parse(text) as Record<string, unknown>;
      const event = String(body.event ?? body.kind);
      const status = seen.has(event) ? 200 : 500;
      seen.add(event);
      posts.push({ path: request.url ?? '', event, status });
      response.statusCode = status;
      response.end(status === 200 ? 'ok' : 'try again');
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}`;
  identityUpstream = await startFakeOpenAI();
  driftUpstream = await startFakeOpenAI({ outputTokens: 16 });
  directory = mkdtempSync(join(tmpdir(), 'covenant-governance-alerts-'));
  app = await startApp({
    configText: `
store: sqlite:${join(directory, 'covenant.db')}
admin_keys:
  - { name: ops, key_env: ADMIN_KEY }
  - { name: claims-lead, key_env: CLAIMS_ADMIN, department: claims }
  - { name: money, key_env: FINOPS, role: finops }
providers:
  - { name: openai, type: openai, base_url: ${identityUpstream.url} }
  - { name: drifting, type: openai, base_url: ${driftUpstream.url} }
models:
  - { alias: fast, provider: openai, version: gpt-4o-mini }
  - { alias: support, provider: drifting, version: gpt-4o, contract: { drift: { max_variance: 0.2, window: 1s } } }
org:
  name: acme
  alerts: { thresholds: [0.9], webhook: ${hookUrl}/org/T000/secret-token }
  departments:
    - name: claims
      alerts: { thresholds: [0.9], webhook: ${hookUrl}/claims?token=secret }
      keys: [ { name: app, key_env: APP_KEY } ]
systems:
  - name: quick-check
    department: claims
    review: { window: 1s }
    adm: solely_automated
  - name: hiring
    department: claims
    review: { window: 48h }
    fairness: { attribute: sex, min_impact_ratio: 0.8, window: 30d, min_group_size: 5, on_breach: suspend }
`,
    environment, host: '127.0.0.1', port: 0,
    liveDrift: { baselineMs: 0, currentMs: 2000, minSamples: 3 },
  });
}, 30_000);

afterAll(async () => {
  await app?.close();
  await identityUpstream?.close();
  await driftUpstream?.close();
  await new Promise((resolve) => hook.close(resolve));
  rmSync(directory, { recursive: true, force: true });
});

async function call(method: string, path: string, key: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${app.url}${path}`, {
    method, headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

const alerts = async (query = '', key = 'sk-admin') => (await call('GET', `/admin/alerts${query}`, key)).body.data as any[];

async function until<T>(what: string, check: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The alert of `kind` once its delivery has settled (delivered or failed). */
const settled = (kind: string) => until(`${kind} delivered`, async () => (await alerts(`?kind=${kind}`)).find((alert) => alert.status === 'delivered' || alert.status === 'failed'));

const startedAt = new Date().toISOString();

describe('GET /admin/alerts with governance alerts', () => {
  const client = () => new OpenAI({ apiKey: 'sk-app', baseURL: `${app.url}/v1`, maxRetries: 0 });
  const ask = (model: string) => client().chat.completions.create({ model, messages: [{ role: 'user', content: 'Where is my parcel?' }] });

  it('lists a silent model change with its delivery: a 500, then delivered on the second attempt', async () => {
    await ask('fast');
    identityUpstream.setIdentity({ fingerprint: 'fp_silently_updated' });
    await ask('fast');
    const change = await settled('model_version_changed');
    expect(change).toMatchObject({
      kind: 'model_version_changed', department: null, subject: 'fast@gpt-4o-mini', status: 'delivered', delivered: true, attempts: 2, last_error: 'HTTP 500',
      evidence: { changed: 'fingerprint', before: [fakeSystemFingerprint], after: 'fp_silently_updated', blocked: false },
      // Scheme and host only: the path of a webhook URL is often its secret.
      webhook: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/…$/),
    });
    expect(change.message).toContain('fp_silently_updated');
    expect(posts.filter((post) => post.event === 'model_version_changed').map((post) => post.status)).toEqual([500, 200]);
  });

  it('lists an overdue review of the department, delivered to the department\'s webhook', async () => {
    const pending = await call('POST', '/v1/decisions', 'sk-app', { system: 'quick-check', subject_ref: 's1', recommendation: 'decline', model_version: 'q1' });
    expect(pending.body.status).toBe('pending_review');
    const overdue = await settled('review_overdue');
    expect(overdue).toMatchObject({
      kind: 'review_overdue', department: 'claims', subject: pending.body.id, status: 'delivered', attempts: 2, last_error: 'HTTP 500',
      evidence: { system: 'quick-check', overdue_seconds: expect.any(Number) },
    });
    expect(overdue.webhook).toMatch(/\/…$/);
    expect(posts.filter((post) => post.event === 'decision.review_overdue').map((post) => post.path)).toEqual(['/claims?token=secret', '/claims?token=secret']);
  });

  it('lists a bias suspension without the protected attribute or its groups', async () => {
    const hire = (sex: string, recommendation: string) => call('POST', '/v1/decisions', 'sk-app', { system: 'hiring', subject_ref: `cv-${Math.random()}`, recommendation, model_version: 'h1', protected: { sex } });
    for (let index = 0; index < 6; index += 1) await hire('male', 'approve');
    for (let index = 0; index < 2; index += 1) await hire('female', 'approve');
    for (let index = 0; index < 4; index += 1) {
      const rejected = await hire('female', 'reject');
      await call('POST', `/admin/reviews/${rejected.body.id}`, 'sk-admin', { outcome: 'reject', rationale: 'fewer years of experience' });
    }
    const suspended = await settled('system_suspended');
    expect(suspended).toMatchObject({
      kind: 'system_suspended', department: 'claims', subject: 'hiring', status: 'delivered', attempts: 2, last_error: 'HTTP 500',
      evidence: { impact_ratio: 0.4, min_impact_ratio: 0.8, window: '30d' },
    });
    const text = JSON.stringify(suspended);
    for (const protectedWord of ['sex', 'female', 'male']) expect(text).not.toContain(protectedWord);
  });

  it('lists material drift of a served version', async () => {
    for (let index = 0; index < 4; index += 1) await ask('support');
    driftUpstream.setBehaviour({ outputTokens: 64 });
    const drift = await until('material drift', async () => {
      await ask('support');
      return (await alerts('?kind=material_drift')).find((alert) => alert.status === 'delivered' || alert.status === 'failed');
    });
    expect(drift).toMatchObject({
      kind: 'material_drift', department: null, subject: 'support@gpt-4o', status: 'delivered', attempts: 2, last_error: 'HTTP 500',
      evidence: { max_variance: 0.2, window_ms: 1000 },
    });
    expect(drift.evidence.variance.output_tokens).toBeGreaterThan(0.2);
  });

  it('merges every kind newest first, filters by kind and since, and scopes a department key to its own', async () => {
    const all = await alerts();
    const kinds = ['model_version_changed', 'review_overdue', 'system_suspended', 'material_drift'];
    expect(new Set(all.map((alert) => alert.kind))).toEqual(new Set(kinds));
    const times = all.map((alert) => alert.time);
    expect([...times].sort().reverse()).toEqual(times);
    expect((await alerts('?kind=review_overdue,system_suspended')).map((alert) => alert.kind).sort()).toEqual(['review_overdue', 'system_suspended']);
    expect(await alerts(`?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).toEqual([]);
    expect((await alerts(`?since=${encodeURIComponent(startedAt)}`)).length).toBe(4);
    expect((await alerts('?since=1h')).length).toBe(4);
    // A department's key sees its department's alerts; the organisation-wide ones (models, drift) are for unscoped keys.
    expect((await alerts('', 'sk-claims-admin')).map((alert) => alert.kind).sort()).toEqual(['review_overdue', 'system_suspended']);
    // The finops role reads alerts (its area), every kind of them, as an unscoped key.
    expect(await alerts('', 'sk-finops')).toEqual(all);
    // A budget scope selects budget alerts only.
    expect(await alerts('?scope=department:claims')).toEqual([]);
    expect((await call('GET', '/admin/alerts?kind=nonsense', 'sk-admin')).body.error).toMatchObject({ code: 'invalid_request', param: 'kind' });
    expect((await call('GET', '/admin/alerts?since=yesterday', 'sk-admin')).body.error).toMatchObject({ code: 'invalid_request', param: 'since' });
    // Budget alerts and governance alerts share one list: a budget kind filter leaves the governance ones out.
    expect(await alerts('?kind=threshold')).toEqual([]);
  });

  it('shows them in covenant alerts, as a table and as JSON', async () => {
    let out = '';
    const output = { stdout: (text: string) => { out += text; }, stderr: () => undefined, environment: { COVENANT_ADMIN_KEY: 'sk-admin' } };
    await main(['alerts', '--url', app.url, '--kind', 'system_suspended,material_drift'], output);
    expect(out.split('\n')[0]).toMatch(/^TIME\s+KIND\s+DEPARTMENT\s+ABOUT\s+WEBHOOK\s+DELIVERY$/);
    expect(out).toMatch(/system_suspended\s+claims\s+hiring\s+http:\/\/127\.0\.0\.1:\d+\/…\s+delivered \(2 attempts\)/);
    expect(out).toMatch(/material_drift\s+org\s+support@gpt-4o/);
    out = '';
    await main(['alerts', '--url', app.url, '--since', '1h', '--json'], output);
    expect((JSON.parse(out) as any[]).map((alert) => alert.kind).sort()).toEqual(['material_drift', 'model_version_changed', 'review_overdue', 'system_suspended']);
    expect(formatAlertTable([])).toBe('No alerts.\n');
  });
});
