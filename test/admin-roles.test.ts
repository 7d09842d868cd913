// Admin roles against the routes actually registered: every role calls every /admin route and is refused exactly where
// the role table says (guards: roleAccess, roleAreas and authorizeAdmin in gateway/admin-auth.ts); the README's roles
// table is generated from the same routes, so it cannot go stale; and every admin write leaves a ledger entry naming
// the admin key that made it (a write route without a case here fails the test).
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roleAccess, roleMayCall, type AdminRole, type AdminRoute } from '../src/gateway/admin-auth.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const roles = Object.keys(roleAccess) as AdminRole[];
const secretOf = (role: AdminRole) => `sk-roles-${role}-0123456789`;
const environment: Record<string, string> = { CLAIMS_KEY: 'sk-roles-claims-bot', AGENT_KEY: 'sk-roles-agent-bot', SCOPED_FINOPS_KEY: 'sk-roles-claims-finops' };
for (const role of roles) environment[`${role.toUpperCase()}_KEY`] = secretOf(role);

const text = `
store: sqlite:{{DB}}
admin_keys:
${roles.map((role) => `  - { name: ${role}-key, key_env: ${role.toUpperCase()}_KEY, role: ${role} }`).join('\n')}
  - { name: claims-finops, key_env: SCOPED_FINOPS_KEY, role: finops, department: claims }
providers: [ { name: mock, type: mock } ]
models:
  - { alias: demo, provider: mock, version: mock-gpt-1 }
org:
  name: acme
  departments:
    - name: claims
      budgets: [ { usd: 10, period: day } ]
      keys:
        - { name: claims-bot, key_env: CLAIMS_KEY }
        - { name: agent-bot, key_env: AGENT_KEY, agent: { max_steps: 1 } }
    - name: hr
systems:
  - { name: roles-review, department: claims, review: { window: 48h } }
`;

let gateway: TestGateway;
let routes: AdminRoute[];

const call = (method: string, path: string, key: string, body?: unknown) => fetch(`${gateway.url}${path}`, {
  method,
  headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
  body: body === undefined ? undefined : JSON.stringify(body),
});

beforeAll(async () => {
  gateway = await startTestGateway(text, environment);
  routes = gateway.server.adminRoutes ?? [];
});
afterAll(async () => gateway?.stop());

/** The README's table: one row per registered admin route, one column per role. */
export function rolesTable(registered: AdminRoute[]): string {
  const cell = (role: AdminRole, route: AdminRoute) => {
    if (!roleMayCall(role, route.access, route.area)) return 'no';
    return route.access.startsWith('organisation-') ? 'yes (unscoped key)' : 'yes';
  };
  const lines = [`| route | ${roles.join(' | ')} |`, `| --- | ${roles.map(() => '---').join(' | ')} |`];
  for (const route of registered) lines.push(`| \`${route.method} ${route.url}\` | ${roles.map((role) => cell(role, route)).join(' | ')} |`);
  return lines.join('\n');
}

describe('admin roles', () => {
  it('the README roles table is the one the registered routes give', () => {
    expect(routes.length).toBeGreaterThan(10);
    const file = new URL('../README.md', import.meta.url);
    const readme = readFileSync(file, 'utf8');
    const marked = /<!-- roles-table:start -->\n([\s\S]*?)<!-- roles-table:end -->/;
    // COVENANT_WRITE_ROLES_TABLE=1 npx vitest run test/admin-roles.test.ts rewrites the table after a route or role changes.
    if (process.env.COVENANT_WRITE_ROLES_TABLE === '1') {
      writeFileSync(file, readme.replace(marked, () => `<!-- roles-table:start -->\n${rolesTable(routes)}\n<!-- roles-table:end -->`));
    }
    const table = marked.exec(readFileSync(file, 'utf8'))?.[1];
    expect(table, 'README.md needs the roles table between <!-- roles-table:start --> and <!-- roles-table:end -->').toBeDefined();
    expect(table!.trim()).toBe(rolesTable(routes));
  });

  it('each role is refused exactly on the routes the table says no to', async () => {
    for (const route of routes) {
      const path = route.url.replaceAll(/:[a-z]+/g, 'nothing-here');
      for (const role of roles) {
        const body = route.method === 'POST' ? {} : undefined;
        const response = await call(route.method, path, secretOf(role), body);
        const allowed = roleMayCall(role, route.access, route.area);
        const answer = await response.text();
        if (allowed) expect(response.status, `${role} ${route.method} ${route.url}: ${answer}`).not.toBe(403);
        else {
          expect(response.status, `${role} ${route.method} ${route.url}`).toBe(403);
          expect(JSON.parse(answer).error.code).toBe('forbidden');
        }
      }
    }
  });

  it('finops manages keys and reads spend but not the ledger, sessions or config', async () => {
    const finops = secretOf('finops');
    const created = await call('POST', '/admin/keys', finops, { department: 'hr', name: 'finops-made' });
    expect(created.status).toBe(201);
    expect((await call('GET', '/admin/spend', finops)).status).toBe(200);
    expect((await call('GET', '/admin/alerts', finops)).status).toBe(200);
    const refused = await call('GET', '/admin/audit/entries', finops);
    expect(refused.status).toBe(403);
    expect((await refused.json()).error.message).toContain('role finops');
    expect((await call('POST', '/admin/reload', finops)).status).toBe(403);
    expect((await call('GET', '/admin/sessions', finops)).status).toBe(403);
  });

  it('a department-scoped finops key manages only its department', async () => {
    const scoped = environment.SCOPED_FINOPS_KEY!;
    expect((await call('POST', '/admin/keys', scoped, { department: 'hr', name: 'elsewhere' })).status).toBe(403);
    expect((await call('POST', '/admin/keys', scoped, { department: 'claims', name: 'own' })).status).toBe(201);
    const listed = (await (await call('GET', '/admin/keys', scoped)).json()).data as { department: string }[];
    expect(listed.length).toBeGreaterThan(0);
    expect(listed.every((key) => key.department === 'claims')).toBe(true);
  });
});

const admin = (method: string, path: string, body?: unknown) => call(method, path, secretOf('admin'), body);
const json = async (response: Promise<Response>) => (await response).json() as Promise<Record<string, any>>;
let serial = 0;
/** A name no earlier case used, so each case can run on its own. */
const fresh = (prefix: string) => `${prefix}-${(serial += 1)}`;
const sha = (digit: string) => digit.repeat(64);

/** The write routes of the registry, mock, drift, inventory, contracts and oversight features: each made to succeed. */
function writeCases(): Record<string, () => Promise<{ response: Response; kind: string }>> {
  const stage = () => admin('POST', '/admin/models/demo/stage', { version: fresh('mock-gpt-roles'), reason: 'roles test' });
  const vendor = async () => {
    const name = fresh('roles-vendor');
    expect((await admin('PUT', `/admin/inventory/vendors/${name}`, { layer: 'system_integrator' })).status).toBe(200);
    return name;
  };
  const system = async () => {
    const name = fresh('roles-system');
    expect((await admin('PUT', `/admin/inventory/systems/${name}`, { owner: 'Head of Claims', department: 'claims', risk_tier: 'low' })).status).toBe(200);
    return name;
  };
  const linked = async () => {
    const from = { kind: 'systems', name: await system() };
    const to = { kind: 'vendors', name: await vendor() };
    return { from, to };
  };
  const weights = (contract: string) => admin('POST', '/admin/weights', {
    path: `/models/${contract}.safetensors`, format: 'safetensors', sha256: sha('a'), bytes: 32, parameters: 16, summary: null, contract_id: contract,
  });
  return {
    'POST /admin/models/:alias/stage': async () => ({ response: await stage(), kind: 'model.staged' }),
    'POST /admin/models/:alias/promote': async () => {
      expect((await stage()).status).toBe(200);
      return { response: await admin('POST', '/admin/models/demo/promote', { reason: 'roles test' }), kind: 'model.promoted' };
    },
    'POST /admin/models/:alias/rollback': async () => {
      expect((await stage()).status).toBe(200);
      expect((await admin('POST', '/admin/models/demo/promote', {})).status).toBe(200);
      return { response: await admin('POST', '/admin/models/demo/rollback', { reason: 'roles test' }), kind: 'model.rolled_back' };
    },
    'POST /admin/models/:alias/ack': async () => ({ response: await admin('POST', '/admin/models/demo/ack', { reason: 'roles test' }), kind: 'model.acknowledged' }),
    'POST /admin/mock/:provider': async () => ({ response: await admin('POST', '/admin/mock/mock', { latency_ms: 0 }), kind: 'mock.changed' }),
    'POST /admin/drift/runs': async () => ({
      response: await admin('POST', '/admin/drift/runs', {
        model: 'demo', requested_version: null, verdict: 'pass', key: 'claims-bot', department: 'claims',
        suite: { file: 'golden.jsonl', sha256: sha('1'), items: 3 }, baseline_sha256: sha('2'), report_sha256: sha('3'),
        embedding: { kind: 'lexical', alias: null }, versions_seen: ['mock-gpt-1'], fingerprints_seen: ['fp_mock'], baseline_versions_seen: ['mock-gpt-1'],
        checks: [{ name: 'similarity', observed: 0.99, threshold: 0.9, pass: true, breached_items: [] }], cost_usd_micros: 0,
      }),
      kind: 'drift.run',
    }),
    'PUT /admin/inventory/:kind/:name': async () => ({ response: await admin('PUT', `/admin/inventory/vendors/${fresh('roles-put')}`, { layer: 'system_integrator' }), kind: 'inventory.changed' }),
    'DELETE /admin/inventory/:kind/:name': async () => ({ response: await admin('DELETE', `/admin/inventory/vendors/${await vendor()}`), kind: 'inventory.changed' }),
    'POST /admin/inventory/links': async () => ({ response: await admin('POST', '/admin/inventory/links', await linked()), kind: 'inventory.changed' }),
    'DELETE /admin/inventory/links': async () => {
      const link = await linked();
      expect((await admin('POST', '/admin/inventory/links', link)).status).toBe(200);
      return { response: await admin('DELETE', '/admin/inventory/links', link), kind: 'inventory.changed' };
    },
    'POST /admin/inventory/import': async () => ({
      response: await admin('POST', '/admin/inventory/import', { yaml: `vendors:\n  - name: ${fresh('roles-imported')}\n    layer: system_integrator\n` }),
      kind: 'inventory.changed',
    }),
    'POST /admin/inventory/systems/:name/decisions': async () => ({
      response: await admin('POST', `/admin/inventory/systems/${await system()}/decisions`, { differentiator: 'yes', data_moat: 'no', speed_priority: 'yes' }),
      kind: 'sourcing.decided',
    }),
    'POST /admin/inventory/systems/:name/blueprint': async () => ({
      response: await admin('POST', `/admin/inventory/systems/${await system()}/blueprint`, { blueprint: 'C' }), kind: 'blueprint.applied',
    }),
    'POST /admin/inventory/vendors/:name/qualifications': async () => ({
      response: await admin('POST', `/admin/inventory/vendors/${await vendor()}/qualifications`, { answers: { no_training: { answer: 'yes' } } }),
      kind: 'vendor.qualified',
    }),
    'POST /admin/contract-checks': async () => ({
      response: await admin('POST', '/admin/contract-checks', { file: 'msa.md', sha256: sha('c'), format: 'md', passed: true, missing: [], weaker: [], result: null, contract_id: 'MSA-R' }),
      kind: 'contract.checked',
    }),
    'POST /admin/weights': async () => ({ response: await weights(fresh('MSA-W')), kind: 'weights.registered' }),
    'POST /admin/portability-requests': async () => ({
      response: await admin('POST', '/admin/portability-requests', { contract_id: fresh('MSA-P'), due_business_days: 10 }), kind: 'portability.requested',
    }),
    'POST /admin/portability-requests/:id/deliver': async () => {
      const request = await json(admin('POST', '/admin/portability-requests', { contract_id: fresh('MSA-D'), due_business_days: 10 }));
      const artifact = await json(weights(fresh('MSA-other')));
      return { response: await admin('POST', `/admin/portability-requests/${request.id}/deliver`, { weights_id: artifact.id }), kind: 'portability.delivered' };
    },
    'POST /admin/reviews/:id': async () => {
      const decided = await fetch(`${gateway.url}/v1/decisions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${environment.CLAIMS_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ system: 'roles-review', subject_ref: fresh('claim'), recommendation: 'reject', model_version: 'm1' }),
      });
      const decision = await decided.json() as { id: string; status: string };
      expect(decision.status).toBe('pending_review');
      return { response: await admin('POST', `/admin/reviews/${decision.id}`, { reviewer: 'Alice Ng', outcome: 'reject', rationale: 'checked' }), kind: 'decision.reviewed' };
    },
    'POST /admin/systems/:name/resume': async () => {
      await gateway.stores.decisions.suspendSystem({ system: 'roles-review', department: 'claims', reason: 'roles test', evidence: {}, suspendedAt: Date.now() });
      return { response: await admin('POST', '/admin/systems/roles-review/resume', { reason: 'checked' }), kind: 'system.resumed' };
    },
  };
}

describe('every admin write is on the ledger with the key that made it', () => {
  const ledger = async () => (await (await call('GET', '/admin/audit/entries?limit=10000', secretOf('admin'))).json()).data as Record<string, unknown>[];

  /** How to make each write route succeed; returns the entry kind it must leave. */
  const cases: Record<string, () => Promise<{ response: Response; kind: string }>> = {
    'POST /admin/keys': async () => ({ response: await call('POST', '/admin/keys', secretOf('admin'), { department: 'claims', name: 'written' }), kind: 'key.created' }),
    'PATCH /admin/keys/:id': async () => {
      const created = await (await call('POST', '/admin/keys', secretOf('admin'), { department: 'claims', name: 'to-edit' })).json() as { id: string };
      return { response: await call('PATCH', `/admin/keys/${created.id}`, secretOf('admin'), { budgets: [{ usd: 1, period: 'day' }] }), kind: 'key.updated' };
    },
    'DELETE /admin/keys/:id': async () => {
      const created = await (await call('POST', '/admin/keys', secretOf('admin'), { department: 'claims', name: 'to-revoke' })).json() as { id: string };
      return { response: await call('DELETE', `/admin/keys/${created.id}`, secretOf('admin')), kind: 'key.revoked' };
    },
    'POST /admin/reload': async () => ({ response: await call('POST', '/admin/reload', secretOf('admin')), kind: 'config.reloaded' }),
    'POST /admin/sessions/:id/resume': async () => {
      const step = () => fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${environment.AGENT_KEY}`, 'content-type': 'application/json', 'x-covenant-session': 'roles-loop' },
        body: JSON.stringify({ model: 'demo', messages: [{ role: 'user', content: 'again' }], max_tokens: 4 }),
      });
      await step();
      expect((await step()).status).toBe(403);
      const suspended = (await (await call('GET', '/admin/sessions', secretOf('admin'))).json()).data as { session: string }[];
      return { response: await call('POST', `/admin/sessions/${suspended[0]!.session}/resume`, secretOf('admin'), { reason: 'checked' }), kind: 'session.resumed' };
    },
    ...writeCases(),
  };

  it('has a case for every write route registered', () => {
    const writes = routes.filter((route) => route.access.endsWith('write')).map((route) => `${route.method} ${route.url}`);
    expect(writes.sort()).toEqual(Object.keys(cases).sort());
  });

  for (const [route, run] of Object.entries(cases)) {
    it(`${route} names the admin key`, async () => {
      const before = (await ledger()).length;
      const { response, kind } = await run();
      expect(response.status, await response.clone().text()).toBeLessThan(300);
      const written = (await ledger()).slice(before).filter((entry) => entry.kind === kind);
      expect(written.length).toBeGreaterThan(0);
      for (const entry of written) expect(String(entry.by)).toMatch(/(^|:)admin-key$/);
    });
  }
});
