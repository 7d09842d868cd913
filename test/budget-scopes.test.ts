// One name per scope through the gateway: an auditor joins budget.changed, alert.fired and /admin/spend on the scope
// string, for a key and for an end user, and every surface refuses a string outside the grammar.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createMemoryBudgetStore } from '../src/stores/memory/budget-store.js';
import { spendReport } from '../src/budgets/spend-report.js';
import { main } from '../src/cli/main.js';
import { counterKeyFor } from '../src/core/budget-math.js';
import { parseScope } from '../src/core/scope.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const secrets = { ADMIN_KEY: 'sk-scopes-admin', AUDITOR_KEY: 'sk-scopes-claims-auditor', CLAIMS_KEY: 'sk-scopes-claims' };
// A user holding both separators the grammar cares about.
const user = 'ops/alice:1';
const text = `
store: sqlite:{{DB}}
admin_keys:
  - { name: ops, key_env: ADMIN_KEY }
  - { name: claims-auditor, key_env: AUDITOR_KEY, role: auditor, department: claims }
providers: [ { name: mock, type: mock } ]
models: [ { alias: demo, provider: mock, version: mock-gpt-1 } ]
org:
  name: acme
  departments:
    - name: claims
      user_budgets: [ { usd: 0.001, period: day } ]
      alerts: { thresholds: [0.001] }
      keys: [ { name: triage-bot, key_env: CLAIMS_KEY, budgets: [ { usd: 0.001, period: day } ] } ]
    - name: hr
`;

let gateway: TestGateway;
type Entry = Record<string, any>;
const admin = (path: string, key = secrets.ADMIN_KEY, init: RequestInit = {}) =>
  fetch(`${gateway.url}${path}`, { ...init, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' } });
const entries = async (key = secrets.ADMIN_KEY): Promise<Entry[]> => (await (await admin('/admin/audit/entries?limit=1000', key)).json()).data;
const spend = async (scope?: string) => (await (await admin(`/admin/spend${scope ? `?scope=${encodeURIComponent(scope)}` : ''}`)).json()).scopes as Entry[];

/** Alerts reach the ledger after the answer: wait until `count` alert.fired entries are in. */
async function alertEntries(count: number): Promise<Entry[]> {
  for (let waited = 0; waited < 10_000; waited += 25) {
    const fired = (await entries()).filter((entry) => entry.kind === 'alert.fired');
    if (fired.length >= count) return fired;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`fewer than ${count} alert.fired entries after 10 s`);
}

beforeAll(async () => {
  gateway = await startTestGateway(text, secrets);
  const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: secrets.CLAIMS_KEY, maxRetries: 0 });
  await client.chat.completions.create({ model: 'demo', messages: [{ role: 'user', content: 'hello' }], max_tokens: 8, user });
  await alertEntries(2);
  // A reload that changes the key's budget and the department's per-user budgets.
  const file = join(gateway.directory, 'covenant.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replaceAll('usd: 0.001, period: day', 'usd: 0.002, period: day'));
  expect((await admin('/admin/reload', secrets.ADMIN_KEY, { method: 'POST' })).status).toBe(200);
}, 60_000);

afterAll(async () => gateway?.stop());

describe('an auditor joins on the scope string', () => {
  it('for a key: budget.changed, alert.fired and /admin/spend name it key:<id>, with its name as the label beside', async () => {
    const keys = (await (await admin('/admin/keys')).json()).data as { id: string; name: string }[];
    const id = keys.find((key) => key.name === 'triage-bot')!.id;
    const scope = `key:${id}`;
    const all = await entries();
    const changed = all.filter((entry) => entry.kind === 'budget.changed' && entry.scope === scope);
    const fired = all.filter((entry) => entry.kind === 'alert.fired' && entry.scope === scope);
    expect(changed).toEqual([expect.objectContaining({
      label: 'key:claims/triage-bot', department: 'claims', before: [{ usd: 0.001, period: 'day' }], after: [{ usd: 0.002, period: 'day' }],
    })]);
    expect(fired).toEqual([expect.objectContaining({ label: 'key:claims/triage-bot', department: 'claims', threshold: 0.001 })]);
    const reported = await spend(scope);
    expect(reported).toEqual([expect.objectContaining({ scope, key: 'claims/triage-bot' })]);
    expect(reported[0].budgets[0]).toMatchObject({ unit: 'usd', period: 'day', window: fired[0].budget.window, limit_micros: 2000 });
    expect(reported[0].budgets[0].spent_micros).toBeGreaterThan(0);
    // No entry names the key the old way.
    expect(all.some((entry) => entry.scope === 'key:claims/triage-bot')).toBe(false);
  });

  it("for a user: the policy's budget.changed names user:<department>, and /admin/spend on that string lists the user alert.fired names", async () => {
    const scope = `user:claims/${user}`;
    const all = await entries();
    const fired = all.filter((entry) => entry.kind === 'alert.fired' && entry.scope === scope);
    expect(fired).toEqual([expect.objectContaining({ department: 'claims', label: scope, threshold: 0.001 })]);
    const policy = all.filter((entry) => entry.kind === 'budget.changed' && entry.department === 'claims' && parseScope(entry.scope)?.kind === 'users');
    expect(policy).toEqual([expect.objectContaining({ scope: 'user:claims', label: 'user:claims/*', after: [{ usd: 0.002, period: 'day' }] })]);
    // The policy's scope, given to /admin/spend, lists every user under it; the user's own scope narrows to one.
    for (const narrowed of [policy[0].scope, scope]) {
      const reported = await spend(narrowed);
      expect(reported.map((entry) => entry.scope)).toEqual([scope]);
      expect(reported[0].budgets[0]).toMatchObject({ window: fired[0].budget.window, limit_micros: 2000 });
    }
    expect(all.some((entry) => typeof entry.scope === 'string' && entry.scope.startsWith('users:'))).toBe(false);
  });

  it("shows a department's auditor its key's and users' alerts and budget changes, through the scope's department", async () => {
    const alerts = (await (await admin('/admin/alerts', secrets.AUDITOR_KEY)).json()).data as Entry[];
    expect(alerts.map((alert) => alert.scope).sort()).toEqual([expect.stringMatching(/^key:key_/), `user:claims/${user}`]);
    const changed = (await entries(secrets.AUDITOR_KEY)).filter((entry) => entry.kind === 'budget.changed');
    expect(changed.map((entry) => entry.scope).sort()).toEqual([expect.stringMatching(/^key:key_/), 'user:claims']);
  });
});

describe('strings outside the grammar', () => {
  it('are refused by /admin/spend and /admin/alerts, which take only a counter scope', async () => {
    for (const scope of ['users:claims', 'key:claims/triage-bot', 'user:claims/', 'department:a/b']) {
      const response = await admin(`/admin/spend?scope=${encodeURIComponent(scope)}`);
      expect(response.status, scope).toBe(400);
      expect((await response.json()).error).toMatchObject({ code: 'invalid_request', param: 'scope' });
    }
    expect((await admin('/admin/alerts?scope=user:claims')).status).toBe(400);
    expect((await admin(`/admin/alerts?scope=${encodeURIComponent(`user:claims/${user}`)}`)).status).toBe(200);
  });

  it('are a usage error of covenant spend --scope (exit 2), before any gateway is asked', async () => {
    let error = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => { error += String(chunk); return true; });
    try {
      await main(['spend', '--url', 'http://127.0.0.1:9', '--scope', 'users:claims']);
    } finally {
      vi.restoreAllMocks();
    }
    expect(process.exitCode).toBe(2);
    process.exitCode = undefined;
    expect(error).toMatch(/"users:claims" is not a scope: use org, department:DEPARTMENT/);
  });
});

describe('the spend report', () => {
  it("narrowed to a department's per-user policy, lists each user seen in the current window, and no other scope", async () => {
    const store = createMemoryBudgetStore();
    const now = Date.UTC(2024, 4, 15, 10);
    for (const scope of ['user:claims/alice', 'user:claims/b/c', 'user:hr/dave']) {
      await store.tryReserve({ id: scope, createdAt: now, items: [{ counterKey: counterKeyFor(scope, 'usd', 'day', '2024-05-15'), amount: 5, limit: 10 }] });
    }
    const budgets = [{ usd: 1, period: 'day' as const }];
    const report = await spendReport({
      store, now, scopes: [{ scope: 'department:claims', budgets }], scope: 'user:claims',
      userBudgets: [{ department: 'claims', budgets }, { department: 'hr', budgets }],
    });
    expect(report.scopes.map((entry) => entry.scope)).toEqual(['user:claims/alice', 'user:claims/b/c']);
    expect(report.scopes[0].budgets[0]).toMatchObject({ reserved_micros: 5 });
  });
});
