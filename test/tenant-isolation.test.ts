// Tenant isolation on every /admin route: a key scoped to one department, of every role, gets 403 or only its own
// department's rows from each route the gateway registers; and content retention (`none`, `redacted`) holds in every
// view and export. Guards: requireDepartmentAccess and each route's department filter, authorizeAdmin's organisation
// check (gateway/admin-auth.ts), and the ledger's content retention.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roleAccess, roleMayCall, type AdminRole } from '../src/gateway/admin-auth.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const roles = Object.keys(roleAccess) as AdminRole[];
const scopedSecret = (role: AdminRole) => `sk-isolation-claims-${role}-0123456789`;
const environment: Record<string, string> = { ADMIN_KEY: 'sk-isolation-admin', CLAIMS_KEY: 'sk-isolation-claims-bot', HR_KEY: 'sk-isolation-hr-bot' };
for (const role of roles) environment[`CLAIMS_${role.toUpperCase()}_KEY`] = scopedSecret(role);
const email = 'pat.private@example.org';

const text = `
store: sqlite:{{DB}}
admin_keys:
  - { name: ops, key_env: ADMIN_KEY }
${roles.map((role) => `  - { name: claims-${role}, key_env: CLAIMS_${role.toUpperCase()}_KEY, role: ${role}, department: claims }`).join('\n')}
providers: [ { name: mock, type: mock } ]
models: [ { alias: demo, provider: mock, version: mock-gpt-1 } ]
org:
  name: acme
  departments:
    - name: claims
      retention: { content: redacted }
      budgets: [ { usd: 1, period: day } ]
      alerts: { thresholds: [0.000001] }
      keys: [ { name: claims-bot, key_env: CLAIMS_KEY, agent: { max_steps: 1 } } ]
    - name: hr
      retention: { content: none }
      budgets: [ { usd: 1, period: day } ]
      alerts: { thresholds: [0.000001] }
      keys: [ { name: hr-bot, key_env: HR_KEY, agent: { max_steps: 1 } } ]
systems:
  - { name: people-screening, department: hr, review: { window: 48h }, fairness: { attribute: sex, min_impact_ratio: 0.8, window: 30d, min_group_size: 1, on_breach: alert } }
`;
/** In every row hr owns below (never in a URL), so a response that shows one of them leaks hr's rows. */
const hrMarker = 'hrprivate';
/** Values for each route parameter: ones that name hr's rows, so a missing department check on a route shows. */
const parameters: Record<string, string[]> = { seq: ['1'], kind: ['systems'], name: ['people-inventory', 'people-screening'], alias: ['demo'], provider: ['mock'], id: [] };
const sha = (digit: string) => digit.repeat(64);

let gateway: TestGateway;
const call = (method: string, path: string, key: string, body?: unknown) => fetch(`${gateway.url}${path}`, {
  method, headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body),
});

beforeAll(async () => {
  gateway = await startTestGateway(text, environment);
  for (const key of [environment.CLAIMS_KEY!, environment.HR_KEY!]) {
    for (let step = 0; step < 2; step++) {
      await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'x-covenant-session': 'loop' },
        body: JSON.stringify({ model: 'demo', messages: [{ role: 'user', content: `write to ${email}` }], max_tokens: 8 }),
      });
    }
  }
  await call('POST', '/admin/keys', environment.ADMIN_KEY!, { department: 'hr', name: 'hr-made' });
  // hr's rows in every feature with department-scoped records: inventory, sourcing, decisions, contracts, drift.
  const admin = async (method: string, path: string, body: unknown) => {
    const response = await call(method, path, environment.ADMIN_KEY!, body);
    expect(response.status, `${method} ${path}: ${await response.clone().text()}`).toBeLessThan(300);
    return response.json() as Promise<Record<string, unknown>>;
  };
  await admin('PUT', '/admin/inventory/systems/people-inventory', { owner: `${hrMarker} owner`, department: 'hr', purpose: `${hrMarker} purpose` });
  await admin('POST', '/admin/inventory/systems/people-inventory/decisions', { differentiator: 'yes', data_moat: 'no', speed_priority: 'yes' });
  const decided = await fetch(`${gateway.url}/v1/decisions`, {
    method: 'POST', headers: { authorization: `Bearer ${environment.HR_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ system: 'people-screening', subject_ref: `${hrMarker}-candidate`, recommendation: 'reject', model_version: `${hrMarker}-m1`, protected: { sex: `${hrMarker}-group` } }),
  });
  expect(decided.status).toBeLessThan(300);
  parameters.id!.push(String(((await decided.json()) as { id: string }).id));
  const check = await admin('POST', '/admin/contract-checks', { file: `${hrMarker}.md`, sha256: sha('c'), format: 'md', passed: true, missing: [], weaker: [], result: null, department: 'hr' });
  const weights = await admin('POST', '/admin/weights', {
    path: `/${hrMarker}.safetensors`, format: 'safetensors', sha256: sha('a'), bytes: 32, parameters: 16, summary: null, contract_id: `${hrMarker}-1`, department: 'hr',
  });
  const request = await admin('POST', '/admin/portability-requests', { contract_id: `${hrMarker}-2`, due_business_days: 5, note: hrMarker, department: 'hr' });
  parameters.id!.push(String(check.id), String(weights.id), String(request.id));
  await admin('POST', '/admin/drift/runs', {
    model: 'demo', requested_version: null, verdict: 'pass', key: 'hr-bot', department: 'hr',
    suite: { file: `${hrMarker}.jsonl`, sha256: sha('1'), items: 3 }, baseline_sha256: sha('2'), report_sha256: sha('3'),
    embedding: { kind: 'lexical', alias: null }, versions_seen: ['mock-gpt-1'], fingerprints_seen: ['fp_mock'], baseline_versions_seen: ['mock-gpt-1'],
    checks: [{ name: 'similarity', observed: 0.99, threshold: 0.9, pass: true, breached_items: [] }], cost_usd_micros: 0,
  });
  // Alerts are recorded after the answer.
  for (let attempt = 0; attempt < 100; attempt++) {
    const alerts = (await (await call('GET', '/admin/alerts', environment.ADMIN_KEY!)).json()) as { data: unknown[] };
    if (alerts.data.length >= 4) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
});
afterAll(async () => gateway?.stop());

/** Each path a route template gives with the parameter values above (every combination; an unknown parameter gets x). */
function pathsOf(url: string): string[] {
  let paths = [url];
  for (const [, name] of url.matchAll(/:([a-z]+)/g)) {
    const values = parameters[name!]?.length ? parameters[name!]! : ['x'];
    paths = paths.flatMap((path) => values.map((value) => path.replace(`:${name}`, value)));
  }
  return paths;
}

describe('every admin route, every role, scoped to claims', () => {
  it('answers 403 or claims rows only', async () => {
    const routes = gateway.server.adminRoutes ?? [];
    expect(routes.length).toBeGreaterThan(10);
    // The unscoped admin sees hr's rows on these, so an empty answer below is a filter, not an absence of data.
    const hrVisible = (await (await call('GET', '/admin/requests', environment.ADMIN_KEY!)).text()).includes('hr-bot');
    expect(hrVisible).toBe(true);
    let reached = 0;
    for (const route of routes) {
      if (route.method !== 'GET') continue;
      for (const path of pathsOf(route.url)) for (const role of roles) {
        const response = await call('GET', path, scopedSecret(role));
        const body = await response.text();
        if (!roleMayCall(role, route.access, route.area) || route.access.startsWith('organisation-')) {
          expect(response.status, `${role} ${path}`).toBe(403);
          continue;
        }
        expect(response.status, `${role} ${path}: ${body.slice(0, 200)}`).toBeLessThan(500);
        if (response.status === 200) reached += 1;
        for (const other of ['hr-bot', 'hr-made', '"department":"hr"', 'department:hr']) expect(body, `${role} ${path} shows ${other}`).not.toContain(other);
        expect(body.toLowerCase(), `${role} ${path} shows hr's rows`).not.toContain(hrMarker);
      }
    }
    // Most of them answered (an all-404 run would prove nothing).
    expect(reached).toBeGreaterThan(40);
  });

  it('the unscoped admin key sees hr\'s rows on the routes above (so their absence there is a filter)', async () => {
    for (const path of ['/admin/inventory/systems', '/admin/reviews', '/admin/contract-checks', '/admin/weights', '/admin/portability-requests', `/admin/reviews/${parameters.id![0]}`, '/admin/systems/people-screening/bias-audit']) {
      expect((await (await call('GET', path, environment.ADMIN_KEY!)).text()).toLowerCase(), path).toContain(hrMarker);
    }
  });

  it("a scoped key of every role cannot edit another department's key, nor move its own there", async () => {
    const keys = (await (await call('GET', '/admin/keys', environment.ADMIN_KEY!)).json()).data as { id: string; name: string; department: string; budgets: unknown[] }[];
    const hrMade = keys.find((key) => key.name === 'hr-made')!;
    const own = await (await call('POST', '/admin/keys', environment.ADMIN_KEY!, { department: 'claims', name: 'claims-made' })).json() as { id: string };
    for (const role of roles) {
      const edit = await call('PATCH', `/admin/keys/${hrMade.id}`, scopedSecret(role), { budgets: [{ usd: 100, period: 'day' }] });
      expect([403, 404], `${role} edits hr's key`).toContain(edit.status);
      const move = await call('PATCH', `/admin/keys/${own.id}`, scopedSecret(role), { department: 'hr' });
      expect([403, 404], `${role} moves a claims key to hr`).toContain(move.status);
    }
    const after = (await (await call('GET', '/admin/keys', environment.ADMIN_KEY!)).json()).data as typeof keys;
    expect(after.find((key) => key.id === hrMade.id)?.budgets).toEqual(hrMade.budgets);
    expect(after.find((key) => key.id === own.id)?.department).toBe('claims');
  });

  it('a scoped key cannot reach another department by asking', async () => {
    for (const role of roles) {
      for (const path of ['/admin/spend?scope=department:hr', '/admin/audit/entries?department=hr', '/admin/audit/export?department=hr']) {
        const response = await call('GET', path, scopedSecret(role));
        expect(response.status === 403 || !(await response.text()).includes('hr-bot'), `${role} ${path}`).toBe(true);
      }
    }
  });
});

describe('content retention in every view and export', () => {
  it('the redacted department shows a mask, the none department nothing, on every route', async () => {
    const routes = gateway.server.adminRoutes ?? [];
    const seen: string[] = [];
    for (const route of routes) {
      if (route.method !== 'GET') continue;
      for (let seq = 0; seq < (route.url.includes(':seq') ? 12 : 1); seq++) {
        const path = route.url.replace(':seq', String(seq)).replaceAll(/:[a-z]+/g, 'x');
        const body = await (await call('GET', path, environment.ADMIN_KEY!)).text();
        expect(body, path).not.toContain(email);
        if (body.includes('[EMAIL]')) seen.push(path);
      }
    }
    // The redacted content is there to be read (so the check above is not vacuous).
    expect(seen.some((path) => path.startsWith('/admin/audit/content/'))).toBe(true);
  });
});
