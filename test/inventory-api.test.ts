// The sourcing workbench's admin API as each admin key sees it: department scope, the failed-vendor exception rule, ledger entries, import errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const secrets = { ADMIN_KEY: 'sk-inv-admin', CLAIMS_ADMIN_KEY: 'sk-inv-claims-admin', HR_ADMIN_KEY: 'sk-inv-hr-admin', AUDITOR_KEY: 'sk-inv-auditor' };

const text = `
store: sqlite:{{DB}}
admin_keys:
  - { name: procurement-lead, key_env: ADMIN_KEY }
  - { name: claims-admin, key_env: CLAIMS_ADMIN_KEY, department: claims }
  - { name: hr-admin, key_env: HR_ADMIN_KEY, department: hr }
  - { name: auditor, key_env: AUDITOR_KEY, role: auditor }
providers: [ { name: mock, type: mock } ]
models:
  - { alias: triage, provider: mock, version: mock-gpt-1 }
org:
  name: acme
  departments:
    - name: claims
    - name: hr
`;

let gateway: TestGateway;

async function call(method: string, path: string, key: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${gateway.url}${path}`, {
    method, headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await response.text();
  return { status: response.status, body: answer.startsWith('{') ? JSON.parse(answer) : answer };
}

beforeAll(async () => {
  gateway = await startTestGateway(text, secrets);
  const admin = secrets.ADMIN_KEY;
  expect((await call('PUT', '/admin/inventory/vendors/acme-ai', admin, { layer: 'specialised_ai_vendor', services: ['claims scoring'] })).status).toBe(200);
  expect((await call('PUT', '/admin/inventory/models/triage-v3', admin, { alias: 'triage', version: 'mock-gpt-1', vendor: 'acme-ai' })).status).toBe(200);
  expect((await call('PUT', '/admin/inventory/systems/claims-triage', secrets.CLAIMS_ADMIN_KEY, {
    owner: 'Head of Claims', department: 'claims', purpose: 'triage incoming claims', risk_tier: 'high',
    regulatory: { eu_ai_act: { tier: 'high', annex_iii_area: 'essential_services' }, app_1_7: { significant_effect: true, personal_information: true } },
  })).status).toBe(200);
  expect((await call('PUT', '/admin/inventory/systems/cv-screening', secrets.HR_ADMIN_KEY, {
    owner: 'Head of Talent', department: 'hr', risk_tier: 'high', regulatory: { nyc_ll144_aedt: true },
  })).status).toBe(200);
}, 30_000);

afterAll(async () => gateway?.stop());

describe('department scope', () => {
  it('shows a department-scoped key only its department\'s systems, and another department\'s as not found', async () => {
    const claims = await call('GET', '/admin/inventory/systems', secrets.CLAIMS_ADMIN_KEY);
    expect(claims.body.data.map((system: { name: string }) => system.name)).toEqual(['claims-triage']);
    expect((await call('GET', '/admin/inventory/systems', secrets.ADMIN_KEY)).body.data).toHaveLength(2);
    expect((await call('GET', '/admin/inventory/systems/cv-screening', secrets.CLAIMS_ADMIN_KEY)).status).toBe(404);
    const refused = await call('PUT', '/admin/inventory/systems/cv-screening', secrets.CLAIMS_ADMIN_KEY, { owner: 'x', department: 'hr' });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('forbidden');
  });

  it('lets an auditor read but not change, and only an unscoped key change vendors', async () => {
    expect((await call('GET', '/admin/inventory/systems/claims-triage', secrets.AUDITOR_KEY)).status).toBe(200);
    expect((await call('PUT', '/admin/inventory/vendors/other', secrets.AUDITOR_KEY, { layer: 'system_integrator' })).status).toBe(403);
    expect((await call('PUT', '/admin/inventory/vendors/other', secrets.CLAIMS_ADMIN_KEY, { layer: 'system_integrator' })).status).toBe(403);
  });
});

describe('GET /admin/inventory/systems/:name', () => {
  it('answers with the blueprint and its required clauses once a blueprint is applied', async () => {
    const applied = await call('POST', '/admin/inventory/systems/claims-triage/blueprint', secrets.CLAIMS_ADMIN_KEY, { blueprint: 'c' });
    expect(applied.status).toBe(200);
    expect(applied.body.systems_entry).toMatchObject({ name: 'claims-triage', department: 'claims', review: { required_for: ['reject'], window: '48h' } });
    const system = (await call('GET', '/admin/inventory/systems/claims-triage', secrets.ADMIN_KEY)).body;
    expect(system).toMatchObject({ name: 'claims-triage', blueprint: 'C', department: 'claims', high_risk: true });
    expect(system.required_clauses).toEqual(['explainability', 'human_review', 'override_logging', 'performance_sla', 'retraining_trigger', 'drift_definition', 'change_notice', 'rollback', 'privacy_cooperation']);
    expect(system.clause_requirements.change_notice).toEqual([{ parameter: 'notice_days', unit: 'days', min: 60 }]);
  });

  it('records a sourcing decision on the system and in the ledger', async () => {
    const decided = await call('POST', '/admin/inventory/systems/claims-triage/decisions', secrets.CLAIMS_ADMIN_KEY, { differentiator: 'yes', data_moat: 'no', speed_priority: 'yes' });
    expect(decided.status).toBe(200);
    expect(decided.body).toMatchObject({ strategy: 'PARTNER', decided_by: 'claims-admin' });
    expect((await call('GET', '/admin/inventory/systems/claims-triage', secrets.ADMIN_KEY)).body.strategy).toBe('PARTNER');
    const entries = (await call('GET', '/admin/audit/entries?kind=sourcing.decided', secrets.ADMIN_KEY)).body.data;
    expect(entries.at(-1)).toMatchObject({ kind: 'sourcing.decided', department: 'claims', by: 'claims-admin', system: 'claims-triage', strategy: 'PARTNER' });
  });
});

describe('a vendor that failed pre-qualification', () => {
  it('cannot be linked to a high-risk system without a recorded exception; with one, the ledger names who granted it', async () => {
    const qualified = await call('POST', '/admin/inventory/vendors/acme-ai/qualifications', secrets.ADMIN_KEY, {
      answers: { bias_testing: { answer: 'partial', evidence: 'https://acme.example/bias' }, no_training: { answer: 'no' } },
    });
    expect(qualified.status).toBe(200);
    expect(qualified.body).toMatchObject({ passed: false, layer: 'specialised_ai_vendor' });
    const link = { from: { kind: 'systems', name: 'claims-triage' }, to: { kind: 'vendors', name: 'acme-ai' } };
    const refused = await call('POST', '/admin/inventory/links', secrets.CLAIMS_ADMIN_KEY, link);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('vendor_not_qualified');
    expect(refused.body.error.message).toContain('recorded exception');
    const granted = await call('POST', '/admin/inventory/links', secrets.CLAIMS_ADMIN_KEY, { ...link, exception: 'incumbent until the 2027 tender' });
    expect(granted.status).toBe(200);
    expect(granted.body.exception).toMatchObject({ reason: 'incumbent until the 2027 tender', by: 'claims-admin' });
    const entries = (await call('GET', '/admin/audit/entries?kind=inventory.changed&limit=1000', secrets.ADMIN_KEY)).body.data;
    expect(entries.at(-1)).toMatchObject({ action: 'linked', by: 'claims-admin', department: 'claims', exception: { reason: 'incumbent until the 2027 tender', by: 'claims-admin' } });
    const view = (await call('GET', '/admin/inventory/systems/claims-triage', secrets.CLAIMS_ADMIN_KEY)).body;
    expect(view.vendors[0]).toMatchObject({ name: 'acme-ai', qualification: { passed: false }, exception: { reason: 'incumbent until the 2027 tender' } });
  });
});

describe('import and export', () => {
  it('refuses a file with errors, naming each line, and changes nothing', async () => {
    const yaml = 'systems:\n  - name: fraud-detection\n    owner: Head of Fraud\n    department: claims\n    risk_tier: severe\n';
    const refused = await call('POST', '/admin/inventory/import', secrets.ADMIN_KEY, { yaml, file: 'inventory.yaml' });
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toMatch(/inventory\.yaml:5:\d+: systems\[0\]\.risk_tier/);
    expect((await call('GET', '/admin/inventory/systems/fraud-detection', secrets.ADMIN_KEY)).status).toBe(404);
  });

  it('exports YAML that imports again', async () => {
    const exported = await call('GET', '/admin/inventory/export', secrets.ADMIN_KEY);
    expect(exported.status).toBe(200);
    expect(exported.body).toContain('name: claims-triage');
    const records = (exported.body as string).split('\n').filter((line) => /^ {2}- name: /.test(line)).length;
    expect(records).toBeGreaterThanOrEqual(4);
    const imported = await call('POST', '/admin/inventory/import', secrets.ADMIN_KEY, { yaml: exported.body });
    expect(imported.status).toBe(200);
    expect(imported.body).toMatchObject({ created: 0, updated: records });
  });
});

describe('GET /admin/inventory/systems/:name/report', () => {
  it('carries the live model versions and a marked slot for contract checks', async () => {
    await call('POST', '/admin/inventory/systems/claims-triage/blueprint', secrets.CLAIMS_ADMIN_KEY, { blueprint: 'C' });
    await call('POST', '/admin/inventory/links', secrets.CLAIMS_ADMIN_KEY, { from: { kind: 'systems', name: 'claims-triage' }, to: { kind: 'models', name: 'triage-v3' } });
    const report = (await call('GET', '/admin/inventory/systems/claims-triage/report', secrets.CLAIMS_ADMIN_KEY)).body;
    expect(report.live.models).toEqual([{ name: 'triage-v3', alias: 'triage', recorded_version: 'mock-gpt-1', gateway_version: 'mock-gpt-1', provider: 'mock', status: 'pinned' }]);
    expect(report.contract_checks).toMatchObject({ wired: true, data: [] });
    expect(report.blueprint.id).toBe('C');
  });
});
