// The contract workbench on a running gateway: checks recorded by the CLI, weights registered against a contract,
// portability requests delivered by them, department scope on every route, and the ledger entries of each event.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSafetensors } from '../src/sourcing/safetensors.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { runCovenant } from './helpers/process.js';

const secrets = { ADMIN_KEY: 'sk-contracts-admin', CLAIMS_ADMIN_KEY: 'sk-contracts-claims', AUDITOR_KEY: 'sk-contracts-auditor' };
const text = `
store: sqlite:{{DB}}
admin_keys:
  - { name: ops, key_env: ADMIN_KEY }
  - { name: claims-admin, key_env: CLAIMS_ADMIN_KEY, department: claims }
  - { name: auditor, key_env: AUDITOR_KEY, role: auditor }
providers: [ { name: mock, type: mock } ]
models:
  - { alias: demo, provider: mock, version: mock-gpt-1 }
org:
  name: acme
  departments:
    - name: claims
`;

let gateway: TestGateway;
let directory: string;
const fixture = (name: string) => new URL(`./fixtures/contracts/${name}`, import.meta.url).pathname;

const call = async (path: string, key: string, body?: unknown) => {
  const response = await fetch(`${gateway.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST', body: body === undefined ? undefined : JSON.stringify(body),
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
  });
  return { status: response.status, body: await response.json() as any };
};
const cli = (args: string[], key = secrets.ADMIN_KEY) => runCovenant([...args, '--url', gateway.url], { environment: { COVENANT_ADMIN_KEY: key } });

beforeAll(async () => {
  gateway = await startTestGateway(text, secrets);
  directory = mkdtempSync(join(tmpdir(), 'covenant-contracts-gateway-'));
});

afterAll(async () => {
  await gateway?.stop();
  rmSync(directory, { recursive: true, force: true });
});

describe('contract checks on the gateway', () => {
  it('covenant contract check --record stores the check, with a contract.checked ledger entry', async () => {
    const result = await cli(['contract', 'check', fixture('weak.txt'), '--blueprint', 'B', '--contract', 'MSA-7', '--record']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/Recorded as contract check (\d+)\./);
    const id = Number(/Recorded as contract check (\d+)\./.exec(result.stdout)![1]);
    const stored = await call(`/admin/contract-checks/${id}`, secrets.AUDITOR_KEY);
    expect(stored.status).toBe(200);
    expect(stored.body).toMatchObject({
      id, blueprint: 'B', contract_id: 'MSA-7', format: 'txt', passed: false, checked_by: 'ops',
      missing: ['spend_caps', 'no_training', 'privacy_cooperation'], weaker: ['version_support', 'change_notice', 'liability_caps', 'exit_portability'],
    });
    expect(stored.body.result.findings.find((finding: any) => finding.clause === 'change_notice').passage.quote).toBe("Vendor shall give thirty (30) days' notice of any change to a model version.");
    const entries = await call('/admin/audit/entries?kind=contract.checked', secrets.ADMIN_KEY);
    expect(entries.body.data.filter((entry: any) => entry.kind === 'contract.checked').at(-1)).toMatchObject({ check_id: id, contract_id: 'MSA-7', passed: false, by: 'ops' });
  });

  it('keeps a department-scoped key to its department, and an auditor read-only', async () => {
    const body = { file: 'claims.md', sha256: 'c'.repeat(64), format: 'md', passed: true, missing: [], weaker: [], result: null, department: 'legal' };
    const scoped = await call('/admin/contract-checks', secrets.CLAIMS_ADMIN_KEY, body);
    expect(scoped.status).toBe(201);
    expect(scoped.body.department).toBe('claims');
    const listed = await call('/admin/contract-checks', secrets.CLAIMS_ADMIN_KEY);
    expect(listed.body.data.map((check: any) => check.file)).toEqual(['claims.md']);
    const organisation = (await call('/admin/contract-checks', secrets.ADMIN_KEY)).body.data.find((check: any) => check.contract_id === 'MSA-7');
    expect((await call(`/admin/contract-checks/${organisation.id}`, secrets.CLAIMS_ADMIN_KEY)).status).toBe(404);
    expect((await call('/admin/contract-checks', secrets.AUDITOR_KEY, body)).status).toBe(403);
    const invalid = await call('/admin/contract-checks', secrets.ADMIN_KEY, { ...body, missing: ['no_such_clause'] });
    expect(invalid.status).toBe(400);
  });
});

describe('weights and portability requests on the gateway', () => {
  it('tracks a request to its due date and delivers it with the verified artifact', async () => {
    const requested = await cli(['weights', 'request', '--contract', 'MSA-7', '--due-business-days', '10', '--requested-on', '2026-01-01', '--holidays', '2026-01-12', '--json']);
    expect(requested.code).toBe(0);
    const request = JSON.parse(requested.stdout);
    expect(request).toMatchObject({ contract_id: 'MSA-7', status: 'open', requested_on: '2026-01-01', due_on: '2026-01-16', due_business_days: 10 });
    // Long past its due date by now: overdue, and the listing exits 1.
    const overdue = await cli(['weights', 'requests']);
    expect(overdue.code).toBe(1);
    expect(overdue.stdout).toMatch(new RegExp(`${request.id} +MSA-7 +- +overdue +2026-01-01 +2026-01-16`));

    const path = join(directory, 'adapter.safetensors');
    writeFileSync(path, buildSafetensors({ 'lora.A': { dtype: 'F16', shape: [8, 2], data: new Uint8Array(32) } }));
    const registered = await cli(['weights', 'verify', path, '--register', '--contract', 'MSA-7']);
    expect(registered.code).toBe(0);
    expect(registered.stdout).toMatch(/Registered as weights \d+ against contract MSA-7\./);
    expect(registered.stdout).toContain(`Delivered portability request ${request.id} (due 2026-01-16).`);
    const delivered = await cli(['weights', 'requests', '--contract', 'MSA-7', '--json']);
    expect(delivered.code).toBe(0);
    const [line] = JSON.parse(delivered.stdout);
    expect(line).toMatchObject({ id: request.id, status: 'delivered', weights_id: expect.any(Number) });
    const weights = await call(`/admin/weights/${line.weights_id}`, secrets.AUDITOR_KEY);
    expect(weights.body).toMatchObject({ format: 'safetensors', parameters: 16, contract_id: 'MSA-7', registered_by: 'ops' });
    const kinds = (await call('/admin/audit/entries', secrets.ADMIN_KEY)).body.data.map((entry: any) => entry.kind)
      .filter((kind: string) => kind.startsWith('portability.') || kind === 'weights.registered');
    expect(kinds).toEqual(['portability.requested', 'portability.overdue', 'weights.registered', 'portability.delivered']);
    expect(readFileSync(path).length).toBe(weights.body.bytes);
  });

  it('refuses registration without a contract or system, and an unknown request', async () => {
    const path = join(directory, 'tiny.safetensors');
    writeFileSync(path, buildSafetensors({ x: { dtype: 'U8', shape: [1], data: new Uint8Array(1) } }));
    const missing = await cli(['weights', 'verify', path, '--register']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--register needs --contract ID or --system NAME');
    expect((await call('/admin/portability-requests/999999', secrets.ADMIN_KEY)).status).toBe(404);
    expect((await call('/admin/weights', secrets.ADMIN_KEY, { path, format: 'onnx', sha256: 'd'.repeat(64), bytes: 1, parameters: 1, summary: null })).status).toBe(400);
  });
});
