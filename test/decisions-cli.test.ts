// `covenant reviews` and `covenant systems` (bin/covenant) against a running gateway: the queue, a sign-off and an override,
// statistics, lifting a suspension, performance (exit 1 on an SLA breach) and the transparency statement.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../bin/covenant', import.meta.url));
const environment = { ADMIN_KEY: 'sk-admin', REVIEWER: 'sk-reviewer', KEY_CLAIMS: 'sk-claims' };

let gateway: TestGateway;

const config = `
store: sqlite:{{DB}}
admin_keys:
  - { name: ops, key_env: ADMIN_KEY }
  - { name: alice, key_env: REVIEWER, role: reviewer, department: claims }
providers: [ { name: mock, type: mock } ]
models: [ { alias: fast, provider: mock, version: mock-1 } ]
org:
  name: acme
  departments:
    - name: claims
      keys: [ { name: triage-app, key_env: KEY_CLAIMS } ]
systems:
  - name: claims-triage
    department: claims
    review: { window: 48h }
    fairness: { attribute: race, min_impact_ratio: 0.8, window: 30d, min_group_size: 2 }
    sla: { min_recall: 0.9, window: 30d, min_samples: 3 }
`;

async function decide(body: Record<string, unknown>): Promise<{ id: string; status: string }> {
  const response = await fetch(`${gateway.url}/v1/decisions`, {
    method: 'POST', headers: { authorization: 'Bearer sk-claims', 'content-type': 'application/json' },
    body: JSON.stringify({ system: 'claims-triage', model_version: 'ct-1', features: { claim_amount: 100, policy_age: 3 }, ...body }),
  });
  return response.json() as Promise<{ id: string; status: string }>;
}

async function covenant(args: string[], adminKey = 'ADMIN_KEY'): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const result = await run(process.execPath, [bin, ...args, '--url', gateway.url, '--admin-key-env', adminKey], { env: { ...process.env, ...environment } });
    return { code: 0, stdout: result.stdout, stderr: result.stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

beforeEach(async () => {
  gateway = await startTestGateway(config, environment);
});

afterEach(async () => {
  await gateway.stop();
});

describe('covenant reviews', () => {
  it('lists the queue, records a sign-off and an override, and reports statistics', async () => {
    const first = await decide({ subject_ref: 'c-1', recommendation: 'reject', protected: { race: 'a' } });
    const second = await decide({ subject_ref: 'c-2', recommendation: 'deny', protected: { race: 'b' } });
    const table = await covenant(['reviews', 'list'], 'REVIEWER');
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^ID\s+SYSTEM\s+RECOMMENDATION/);
    expect(table.stdout).toContain(first.id);
    const listed = JSON.parse((await covenant(['reviews', 'list', '--json'], 'REVIEWER')).stdout) as { id: string }[];
    expect(listed.map((line) => line.id).sort()).toEqual([first.id, second.id].sort());

    const missing = await covenant(['reviews', 'decide', first.id, '--outcome', 'reject'], 'REVIEWER');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--rationale');
    const kept = await covenant(['reviews', 'decide', first.id, '--outcome', 'reject', '--rationale', 'policy lapsed'], 'REVIEWER');
    expect(kept.code).toBe(0);
    expect(kept.stdout).toContain(`${first.id}: reject (the model recommended reject), reviewed by alice`);
    const changed = await covenant(['reviews', 'decide', second.id, '--outcome', 'approve', '--rationale', 'receipts found', '--reviewer', 'Alice Ng', '--json'], 'REVIEWER');
    expect(JSON.parse(changed.stdout)).toMatchObject({ status: 'final', final_outcome: 'approve', review: { reviewer: 'Alice Ng', overridden: true } });
    const twice = await covenant(['reviews', 'decide', second.id, '--outcome', 'reject', '--rationale', 'again'], 'REVIEWER');
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain('HTTP 409');

    const stats = JSON.parse((await covenant(['reviews', 'stats', '--json'], 'REVIEWER')).stdout);
    expect(stats.overall).toMatchObject({ reviews: 2, overrides: 1, overrideRate: 0.5 });
    const text = await covenant(['reviews', 'stats']);
    expect(text.stdout).toMatch(/Alice Ng\s+1\s+1\s+100\.0%/);
    expect(text.stdout).toContain('No automation-bias warning.');
    // A reviewer key reaches reviews only.
    const forbidden = await covenant(['systems', 'list'], 'REVIEWER');
    expect(forbidden.code).toBe(2);
    expect(forbidden.stderr).toContain('HTTP 403');
  }, 180_000);
});

describe('covenant systems', () => {
  it('lifts a suspension, reports performance with exit 1 on a breach, and prints the transparency statement', async () => {
    // Group a: 2 of 2 approved; group b: 0 of 2 (both rejections confirmed by a person): impact ratio 0, suspended.
    for (const subject of ['s-1', 's-2']) await decide({ subject_ref: subject, recommendation: 'approve', protected: { race: 'a' } });
    for (const subject of ['s-3', 's-4']) {
      const made = await decide({ subject_ref: subject, recommendation: 'reject', protected: { race: 'b' } });
      await fetch(`${gateway.url}/admin/reviews/${made.id}`, {
        method: 'POST', headers: { authorization: 'Bearer sk-admin', 'content-type': 'application/json' }, body: JSON.stringify({ outcome: 'reject', rationale: 'confirmed' }),
      });
    }
    const listed = await covenant(['systems', 'list']);
    expect(listed.stdout).toMatch(/claims-triage\s+claims\s+substantially_assisted\s+SUSPENDED: impact ratio 0\.000 by race/);
    expect((await decide({ subject_ref: 's-5', recommendation: 'approve' })).status).toBe('pending_review');
    const usage = await covenant(['systems', 'resume', 'claims-triage']);
    expect(usage.code).toBe(2);
    const resumed = await covenant(['systems', 'resume', 'claims-triage', '--reason', 'reviewed the window with the fairness lead']);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain('Resumed claims-triage');
    expect((await decide({ subject_ref: 's-6', recommendation: 'approve' })).status).toBe('final');

    // Recall: the model approved 2 of the 3 that deserved approval (one rejected wrongly): 2/3 < 0.9 (Wilson 95%: 0.208 to
    // 0.939); precision 2 of 2 (Wilson: 0.342 to 1).
    const ids = [];
    for (const recommendation of ['approve', 'approve', 'reject']) ids.push((await decide({ subject_ref: `p-${recommendation}`, recommendation, model_version: 'ct-2' })).id);
    for (const id of ids) {
      await fetch(`${gateway.url}/v1/decisions/${id}/outcome`, { method: 'POST', headers: { authorization: 'Bearer sk-claims', 'content-type': 'application/json' }, body: JSON.stringify({ outcome: 'approve' }) });
    }
    const performance = await covenant(['systems', 'performance', 'claims-triage']);
    expect(performance.code).toBe(1);
    expect(performance.stdout).toMatch(/ct-2\s+3\s+1\.000 \[0\.342, 1\.000\]\s+0\.667 \[0\.208, 0\.939\]/);
    expect(performance.stdout).toContain('BREACH: recall of ct-2 is 0.667 against 0.9');

    const markdown = await covenant(['systems', 'transparency', 'claims-triage']);
    expect(markdown.code).toBe(0);
    expect(markdown.stdout).toContain('# Automated decision-making: claims-triage');
    expect(markdown.stdout).toContain('claim_amount, policy_age');
    expect(markdown.stdout).not.toMatch(/\brace: (a|b)\b/);
    const json = JSON.parse((await covenant(['systems', 'transparency', 'claims-triage', '--format', 'json'])).stdout);
    expect(json).toMatchObject({ adm_classification: 'substantially_assisted', personal_information: { collected_for_bias_monitoring: ['race'] } });
  }, 180_000);
});
