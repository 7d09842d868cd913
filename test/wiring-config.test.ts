// Config written by the sourcing tools passes the real config schema: the contract checker's --emit-policy fragment
// merged under a model, and `covenant blueprint apply C --config FILE` writing the system's `systems:` entry.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseDocument } from 'yaml';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { runCovenant } from './helpers/process.js';

const secrets = { ADMIN_KEY: 'sk-wiring-config-admin', APP_KEY: 'sk-wiring-config-app' };
const fixture = (name: string) => new URL(`./fixtures/contracts/${name}`, import.meta.url).pathname;
const configText = `# the claims department's gateway
store: sqlite:{{DB}}
admin_keys: [ { name: ops, key_env: ADMIN_KEY } ]
providers: [ { name: mock, type: mock } ]
models:
  - { alias: claims-llm, provider: mock, version: mock-gpt-1 }
org:
  name: acme
  departments:
    - name: claims
      keys: [ { name: app, key_env: APP_KEY } ]   # the claims app
`;
let gateway: TestGateway;

beforeAll(async () => {
  gateway = await startTestGateway(configText, secrets);
});

afterAll(async () => gateway?.stop());

const check = (file: string) => runCovenant(['config', 'check', '--config', file], { environment: secrets });

describe('covenant contract check --emit-policy → config', () => {
  it('emits a contract block that, merged under the model, passes covenant config check with its terms as fractions', async () => {
    const emitted = await runCovenant(['contract', 'check', fixture('strong.md'), '--blueprint', 'A', '--emit-policy', '--model', 'claims-llm']);
    expect(emitted.code).toBe(0);
    const fragment = parse(emitted.stdout) as { models: Record<string, { contract: Record<string, any> }> };
    const contract = fragment.models['claims-llm']!.contract;
    expect(contract.drift.max_variance).toBeLessThan(1);
    const document = parseDocument(readFileSync(join(gateway.directory, 'covenant.yaml'), 'utf8'));
    const models = document.get('models') as any;
    const index = models.items.findIndex((item: any) => item.get('alias') === 'claims-llm');
    document.setIn(['models', index, 'contract'], document.createNode(contract));
    // Its own database: the gateway started below is not the running one.
    document.set('store', `sqlite:${join(gateway.directory, 'with-contract.db')}`);
    const file = join(gateway.directory, 'with-contract.yaml');
    writeFileSync(file, document.toString());
    const result = await check(file);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    // The gateway reads the terms as written: GET /admin/models/:alias shows them (fractions, the window as given).
    const { startApp } = await import('../src/gateway/app.js');
    const app = await startApp({ configFile: file, environment: secrets, host: '127.0.0.1', port: 0 });
    try {
      expect(app.models.policy('claims-llm')!.contract.drift).toEqual({ min_similarity: 0.95, max_safety_failures: 0, window: '24h', ...contract.drift });
      expect(app.models.policy('claims-llm')!.contract.support_until).toBe(contract.support_until);
    } finally {
      await app.close();
    }
  });
});

describe('covenant blueprint apply C --config FILE', () => {
  it('writes the system\'s systems: entry into the config, comments kept, and the config passes covenant config check', async () => {
    const admin = { authorization: `Bearer ${secrets.ADMIN_KEY}`, 'content-type': 'application/json' };
    const created = await fetch(`${gateway.url}/admin/inventory/systems/claims-triage`, {
      method: 'PUT', headers: admin, body: JSON.stringify({ owner: 'Head of Claims', department: 'claims', risk_tier: 'high' }),
    });
    expect(created.status).toBe(200);
    const file = join(gateway.directory, 'blueprint.yaml');
    writeFileSync(file, readFileSync(join(gateway.directory, 'covenant.yaml'), 'utf8'));
    const applied = await runCovenant(['blueprint', 'apply', 'C', '--system', 'claims-triage', '--config', file, '--url', gateway.url, '--json'],
      { environment: { ...secrets, COVENANT_ADMIN_KEY: secrets.ADMIN_KEY } });
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    expect(JSON.parse(applied.stdout)).toMatchObject({ written: ['systems[name=claims-triage]'], skipped: [] });
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('# the claims app');
    expect(parse(text).systems).toEqual([{
      name: 'claims-triage', department: 'claims', review: { required_for: ['reject'], window: '48h' },
      explanation: { required: true, tolerance: 0.01 }, adm: 'substantially_assisted', sla: { min_precision: 0.9, min_recall: 0.8, window: '30d' },
    }]);
    const result = await check(file);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('claims-triage');
  });
});
