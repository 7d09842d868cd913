// `covenant bias audit --system` against a running gateway's own decisions: posted through POST /v1/decisions with
// protected attributes, some signed off by a reviewer, ground-truth outcomes reported, read back with include=protected.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { runCovenant } from './helpers/process.js';

const secrets = { ADMIN_KEY: 'sk-bias-admin', AUDITOR_KEY: 'sk-bias-auditor', LENDING_KEY: 'sk-bias-lending' };
let gateway: TestGateway;

async function call(method: string, path: string, key: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${gateway.url}${path}`, {
    method, headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

beforeAll(async () => {
  gateway = await startTestGateway(`
store: sqlite:{{DB}}
admin_keys:
  - { name: ops, key_env: ADMIN_KEY }
  - { name: audit, key_env: AUDITOR_KEY, role: auditor }
providers: [ { name: mock, type: mock } ]
models: [ { alias: fast, provider: mock, version: mock-1 } ]
org:
  name: acme
  departments:
    - name: lending
      keys: [ { name: loans-app, key_env: LENDING_KEY } ]
systems:
  - { name: loans, department: lending, review: { window: 48h } }
`, secrets);
});

afterAll(async () => gateway?.stop());

describe('covenant bias audit --system on a running gateway', () => {
  it('audits the decisions posted to the gateway by their protected attributes, final outcomes and ground truth', async () => {
    // Women: 8 approvals of 20 recommended; men: 16 of 20. Rejections wait for a person.
    const plan = [
      ...Array.from({ length: 20 }, (_, index) => ({ sex: 'female', recommendation: index < 8 ? 'approve' : 'reject' })),
      ...Array.from({ length: 20 }, (_, index) => ({ sex: 'male', recommendation: index < 16 ? 'approve' : 'reject' })),
    ];
    const ids: string[] = [];
    for (const [index, entry] of plan.entries()) {
      const posted = await call('POST', '/v1/decisions', secrets.LENDING_KEY, {
        system: 'loans', subject_ref: `applicant-${index}`, recommendation: entry.recommendation, score: entry.recommendation === 'approve' ? 0.8 : 0.3,
        model_version: 'credit-v2', protected: { sex: entry.sex },
      });
      expect(posted.status).toBe(201);
      ids.push(posted.body.id);
    }
    // A reviewer overturns one woman's rejection (index 8) and confirms another (index 9).
    expect((await call('POST', `/admin/reviews/${ids[8]}`, secrets.ADMIN_KEY, { outcome: 'approve', rationale: 'income verified' })).status).toBe(200);
    expect((await call('POST', `/admin/reviews/${ids[9]}`, secrets.ADMIN_KEY, { outcome: 'reject', rationale: 'debt ratio too high' })).status).toBe(200);
    // Ground truth for the first five applicants of each group: did the loan turn out well?
    for (const index of [0, 1, 2, 3, 4, 20, 21, 22, 23, 24]) {
      expect((await call('POST', `/v1/decisions/${ids[index]}/outcome`, secrets.LENDING_KEY, { outcome: index === 4 ? 'reject' : 'approve' })).status).toBe(200);
    }

    const result = await runCovenant(['bias', 'audit', '--system', 'loans', '--url', gateway.url, '--favorable', 'approve', '--json'],
      { environment: { COVENANT_ADMIN_KEY: secrets.AUDITOR_KEY } });
    expect(result.stderr).toBe('');
    // Women are selected at 9/20 = 0.45, men at 16/20 = 0.8: an impact ratio of 0.5625, under four-fifths.
    expect(result.code).toBe(1);
    const audit = JSON.parse(result.stdout);
    expect(audit.passes).toBe(false);
    const report = audit.reports[0];
    expect(report.attributes).toEqual(['sex']);
    const group = (key: string) => report.groups.find((entry: any) => entry.key === key);
    expect(group('female').selectionRate.value).toBeCloseTo(9 / 20, 12);
    expect(group('male').selectionRate.value).toBeCloseTo(16 / 20, 12);
    expect(report.minimumImpactRatio).toBeCloseTo(0.5625, 12);
    expect(group('female').counts.labelled).toBe(5);
    expect(group('male').counts.labelled).toBe(5);

    // The text report names the groups; a system the gateway does not know is an input error.
    const text = await runCovenant(['bias', 'audit', '--system', 'loans', '--url', gateway.url, '--favorable', 'approve'], { environment: { COVENANT_ADMIN_KEY: secrets.AUDITOR_KEY } });
    expect(text.stdout).toContain('female');
    const unknown = await runCovenant(['bias', 'audit', '--system', 'mortgages', '--url', gateway.url], { environment: { COVENANT_ADMIN_KEY: secrets.AUDITOR_KEY } });
    expect(unknown.code).toBe(2);
  });
});
