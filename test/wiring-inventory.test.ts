// The system report's contract checks come from the contract checks recorded on the gateway: by system, and by the caller's department.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { runCovenant } from './helpers/process.js';

const secrets = { ADMIN_KEY: 'sk-wiring-inv-admin', CLAIMS_ADMIN_KEY: 'sk-wiring-inv-claims', HR_ADMIN_KEY: 'sk-wiring-inv-hr' };
let gateway: TestGateway;
const fixture = (name: string) => new URL(`./fixtures/contracts/${name}`, import.meta.url).pathname;
const cli = (args: string[], key = secrets.ADMIN_KEY) => runCovenant([...args, '--url', gateway.url], { environment: { COVENANT_ADMIN_KEY: key } });
const put = async (path: string, key: string, body: unknown) => (await fetch(`${gateway.url}${path}`, {
  method: 'PUT', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
})).status;

beforeAll(async () => {
  gateway = await startTestGateway(`
store: sqlite:{{DB}}
admin_keys:
  - { name: ops, key_env: ADMIN_KEY }
  - { name: claims-admin, key_env: CLAIMS_ADMIN_KEY, department: claims }
  - { name: hr-admin, key_env: HR_ADMIN_KEY, department: hr }
providers: [ { name: mock, type: mock } ]
models: [ { alias: triage, provider: mock, version: mock-gpt-1 } ]
org:
  name: acme
  departments: [ { name: claims }, { name: hr } ]
`, secrets);
  expect(await put('/admin/inventory/systems/claims-triage', secrets.CLAIMS_ADMIN_KEY, { owner: 'Head of Claims', department: 'claims', risk_tier: 'high' })).toBe(200);
  expect(await put('/admin/inventory/systems/cv-screening', secrets.HR_ADMIN_KEY, { owner: 'Head of Talent', department: 'hr', risk_tier: 'high' })).toBe(200);
}, 30_000);

afterAll(async () => gateway?.stop());

describe('covenant report system ← contract checks', () => {
  it('shows the checks recorded for the system, to its department\'s admin keys, and not other systems\' checks', async () => {
    const report = async (system: string, key: string) => {
      const result = await cli(['report', 'system', system, '--format', 'json'], key);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      return JSON.parse(result.stdout);
    };
    expect((await report('claims-triage', secrets.CLAIMS_ADMIN_KEY)).contract_checks).toEqual({ wired: true, data: [] });

    const checked = await cli(['contract', 'check', fixture('weak.txt'), '--system', 'claims-triage', '--blueprint', 'C', '--contract', 'MSA-9', '--record']);
    expect(checked.code).toBe(1);
    const id = Number(/Recorded as contract check (\d+)\./.exec(checked.stdout)![1]);
    await cli(['contract', 'check', fixture('strong.md'), '--system', 'cv-screening', '--blueprint', 'C', '--record']);
    await cli(['contract', 'check', fixture('strong.md'), '--blueprint', 'C', '--record']);

    for (const key of [secrets.CLAIMS_ADMIN_KEY, secrets.ADMIN_KEY]) {
      const checks = (await report('claims-triage', key)).contract_checks;
      expect(checks.wired).toBe(true);
      expect(checks.data).toEqual([expect.objectContaining({ id, system: 'claims-triage', department: 'claims', contract_id: 'MSA-9', blueprint: 'C', passed: false, checked_by: 'ops' })]);
      expect(checks.data[0].missing.length + checks.data[0].weaker.length).toBeGreaterThan(0);
    }
    expect((await report('cv-screening', secrets.HR_ADMIN_KEY)).contract_checks.data).toEqual([expect.objectContaining({ system: 'cv-screening', department: 'hr', passed: true })]);
    // Another department's system is not found for a scoped key.
    expect((await cli(['report', 'system', 'cv-screening', '--format', 'json'], secrets.CLAIMS_ADMIN_KEY)).code).toBe(2);
    const markdown = await cli(['report', 'system', 'claims-triage'], secrets.CLAIMS_ADMIN_KEY);
    expect(markdown.stdout).not.toContain('NOT WIRED');
    expect(markdown.stdout).toContain('"contract_id":"MSA-9"');
  });
});
