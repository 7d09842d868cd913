// The sourcing workbench from the command line, as a procurement lead runs it: register, decide, blueprint, qualify, report (and the ML-BOM validated).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Spec, Validation } from '@cyclonedx/cyclonedx-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { runCovenant } from './helpers/process.js';
import { main } from '../src/cli/main.js';
import { collectAnswers } from '../src/cli/sourcing.js';

const secrets = { ADMIN_KEY: 'sk-cli-admin', ADVISOR_KEY: 'sk-cli-advisor' };

const text = `# Acme's gateway
store: sqlite:{{DB}}
admin_keys:
  - { name: procurement-lead, key_env: ADMIN_KEY }
providers: [ { name: mock, type: mock } ]
models:
  - { alias: advisor-chat, provider: mock, version: mock-gpt-1 }
org:
  name: acme
  departments:
    - name: advisors   # wealth advisors
      budgets: [ { usd: 50, period: day } ]
      keys: [ { name: advisor-bot, key_env: ADVISOR_KEY } ]
`;

let gateway: TestGateway;
let config: string;
const covenant = (...args: string[]) => runCovenant([...args, '--url', gateway.url, '--config', config], { cwd: gateway.directory, environment: secrets });
const local = (...args: string[]) => runCovenant(args, { cwd: gateway.directory, environment: secrets });
/** Set up through the admin API what a test needs, so no test depends on another having run first. */
async function admin(path: string, body: unknown): Promise<void> {
  const response = await fetch(`${gateway.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${secrets.ADMIN_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.status).toBe(200);
}

beforeAll(async () => {
  gateway = await startTestGateway(text, secrets);
  config = join(gateway.directory, 'covenant.yaml');
  writeFileSync(join(gateway.directory, 'inventory.yaml'), `
vendors:
  - { name: northwind-llm, layer: foundation_model_provider, services: [chat completions], data_use: { trains_on_customer_data: false } }
models:
  - { name: advisor-chat-model, alias: advisor-chat, version: mock-gpt-1, vendor: northwind-llm, task: text generation }
systems:
  - name: advisor-assist
    owner: Head of Wealth
    department: advisors
    purpose: drafting client briefings for advisors
    risk_tier: high
    regulatory: { eu_ai_act: { tier: limited }, app_1_7: { significant_effect: false, personal_information: true } }
links:
  - { from: { kind: systems, name: advisor-assist }, to: { kind: models, name: advisor-chat-model } }
`);
  const imported = await covenant('inventory', 'import', 'inventory.yaml');
  expect(imported.stderr).toBe('');
  expect(imported.code).toBe(0);
}, 60_000);

afterAll(async () => gateway?.stop());

describe('covenant inventory', () => {
  it('lists what was imported and refuses a file with errors, naming the line (exit 2)', async () => {
    const listed = await covenant('inventory', 'list', 'systems', '--json');
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'advisor-assist', department: 'advisors', risk_tier: 'high' })]));
    writeFileSync(join(gateway.directory, 'broken.yaml'), 'vendors:\n  - name: x\n    layer: reseller\n');
    const broken = await covenant('inventory', 'import', 'broken.yaml');
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/broken\.yaml:3:\d+: vendors\[0\]\.layer/);
  });
});

/** The CLI in this process (faster than a child; the same program). */
async function inProcess(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  process.exitCode = undefined;
  await main([...args, '--url', gateway.url, '--config', config], { stdout: (text) => void (stdout += text), stderr: (text) => void (stderr += text), environment: secrets });
  const code = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { code, stdout, stderr };
}

describe('covenant inventory add', () => {
  it('records a system\'s regulatory flags from its options and refuses a bad one (exit 2)', async () => {
    const added = await inProcess('inventory', 'add', 'system', 'cv-screening', '--department', 'advisors', '--owner', 'Head of Talent',
      '--risk-tier', 'high', '--eu-tier', 'high', '--annex-iii', 'employment', '--app-1-7', 'significant_effect,personal_information', '--aedt', '--json');
    expect(added.stderr).toBe('');
    expect(JSON.parse(added.stdout).regulatory).toEqual({
      eu_ai_act: { tier: 'high', annex_iii_area: 'employment' }, app_1_7: { significant_effect: true, personal_information: true }, nyc_ll144_aedt: true,
    });
    const refused = await inProcess('inventory', 'add', 'system', 'cv-screening', '--department', 'advisors', '--owner', 'x', '--eu-tier', 'extreme');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('regulatory.eu_ai_act.tier');
    expect((await inProcess('inventory', 'link', 'system:cv-screening', 'widget/x')).code).toBe(2);
  });
});

describe('covenant vendors qualify answers file', () => {
  it('names the line of a bad answer (exit 2)', async () => {
    writeFileSync(join(gateway.directory, 'bad-answers.yaml'), 'layer: system_integrator\nanswers:\n  privacy: { answer: maybe }\n');
    const refused = await inProcess('vendors', 'qualify', 'northwind-llm', '--answers', join(gateway.directory, 'bad-answers.yaml'));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/bad-answers\.yaml:3:\d+: answers\.privacy\.answer/);
  });
});

describe('sourcing answers in a terminal', () => {
  it('asks each question missing from the flags again until it gets yes or no', async () => {
    const typed = ['maybe', 'y', 'NO'];
    const asked: string[] = [];
    const answers = await collectAnswers({ speedPriority: 'yes' }, async (question) => { asked.push(question); return typed.shift()!; });
    expect(answers).toEqual({ differentiator: true, data_moat: false, speed_priority: true });
    expect(asked).toHaveLength(3);
    expect(asked[0]).toContain('competitive differentiator');
  });
});

describe('covenant sourcing decide', () => {
  it('answers from flags, from JSON, and refuses missing answers outside a terminal', async () => {
    const buy = await local('sourcing', 'decide', '--differentiator', 'no', '--data-moat', 'no', '--speed-priority', 'yes');
    expect(buy.code).toBe(0);
    expect(buy.stdout).toMatch(/^BUY: /);
    expect(buy.stdout).toContain('Contract clauses: no_training');
    const build = await local('sourcing', 'decide', '--input', '{"differentiator": true, "data_moat": true, "speed_priority": false}', '--json');
    expect(JSON.parse(build.stdout)).toMatchObject({ strategy: 'BUILD', answers: { differentiator: true, data_moat: true, speed_priority: false } });
    const missing = await local('sourcing', 'decide', '--differentiator', 'yes');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--data-moat yes|no');
    expect((await local('sourcing', 'decide', '--differentiator', 'maybe', '--data-moat', 'no', '--speed-priority', 'no')).code).toBe(2);
  });

  it('records the decision on a system', async () => {
    const recorded = await covenant('sourcing', 'decide', '--differentiator', 'no', '--data-moat', 'no', '--speed-priority', 'yes', '--system', 'advisor-assist', '--json');
    expect(recorded.code).toBe(0);
    expect(JSON.parse(recorded.stdout)).toMatchObject({ system: 'advisor-assist', strategy: 'BUY', decided_by: 'procurement-lead' });
  });
});

describe('covenant blueprint', () => {
  it('shows a blueprint\'s settings, config and clauses', async () => {
    const shown = await local('blueprint', 'show', 'C');
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('Blueprint C: Claims triage');
    expect(shown.stdout).toContain('required_for:');
    const json = JSON.parse((await local('blueprint', 'show', 'e', '--json')).stdout);
    expect(json.systems_entry.fairness).toMatchObject({ min_impact_ratio: 0.8, on_breach: 'suspend' });
    expect((await local('blueprint', 'show', 'F')).code).toBe(2);
  });

  it('applies D to a system and writes the department\'s retention into the config, keeping its comments, so config check passes', async () => {
    const applied = await covenant('blueprint', 'apply', 'D', '--system', 'advisor-assist', '--json');
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    const result = JSON.parse(applied.stdout);
    expect(result.written).toContain('org.departments[name=advisors].retention.content');
    expect(result.systems_entry).toMatchObject({ name: 'advisor-assist', department: 'advisors', adm: 'substantially_assisted' });
    const written = readFileSync(config, 'utf8');
    expect(written).toContain("# Acme's gateway");
    expect(written).toContain('# wealth advisors');
    expect(written).toMatch(/retention:\s*\n\s*content: none/);
    const check = await local('config', 'check', '--config', config);
    expect(check.code).toBe(0);
    const system = JSON.parse((await covenant('inventory', 'show', 'system', 'advisor-assist')).stdout);
    expect(system.blueprint).toBe('D');
    expect(system.required_clauses).toEqual(['tenant_isolation', 'no_training', 'data_ownership', 'spend_caps', 'change_notice', 'privacy_cooperation']);
  });
});

describe('covenant vendors qualify', () => {
  it('fails a vendor on its answers (exit 1), and refuses the link to a high-risk system until an exception is named', async () => {
    const template = await local('vendors', 'questionnaire', '--layer', 'foundation_model_provider');
    expect(template.code).toBe(0);
    writeFileSync(join(gateway.directory, 'northwind.yaml'), template.stdout);
    const failed = await covenant('vendors', 'qualify', 'northwind-llm', '--answers', 'northwind.yaml');
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/^FAIL: northwind-llm scored 0/);
    const refused = await covenant('inventory', 'link', 'system/advisor-assist', 'vendor/northwind-llm');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('failed pre-qualification');
    const linked = await covenant('inventory', 'link', 'system/advisor-assist', 'vendor/northwind-llm', '--exception', 'only provider with an Australian region; re-qualify by March');
    expect(linked.code).toBe(0);
    expect(linked.stdout).toContain('exception granted by procurement-lead');
  });

  it('passes a vendor that answers yes with evidence (exit 0)', async () => {
    const template = (await local('vendors', 'questionnaire', '--layer', 'system_integrator')).stdout;
    writeFileSync(join(gateway.directory, 'integrator.yaml'), template.replaceAll('answer: no, evidence: ""', 'answer: yes, evidence: "https://integrator.example/evidence"'));
    await covenant('inventory', 'add', 'vendor', 'contoso-si', '--layer', 'system_integrator', '--services', 'integration,run support');
    const passed = await covenant('vendors', 'qualify', 'contoso-si', '--answers', 'integrator.yaml', '--json');
    expect(passed.code).toBe(0);
    expect(JSON.parse(passed.stdout)).toMatchObject({ passed: true, score: 100 });
  });
});

describe('covenant report system', () => {
  it('writes Markdown and HTML with the inventory, strategy, blueprint, live spend and the contract-check slot', async () => {
    await admin('/admin/inventory/systems/advisor-assist/decisions', { differentiator: false, data_moat: false, speed_priority: true });
    await admin('/admin/inventory/systems/advisor-assist/blueprint', { blueprint: 'D' });
    const markdown = await covenant('report', 'system', 'advisor-assist');
    expect(markdown.code).toBe(0);
    expect(markdown.stdout).toContain('# AI system report: advisor-assist');
    expect(markdown.stdout).toContain('**BUY**');
    expect(markdown.stdout).toContain('**D: Advisor enablement**');
    expect(markdown.stdout).toContain('no contract checks recorded for this system');
    expect(markdown.stdout).toContain('- spend department:advisors day');
    expect(markdown.stdout).toContain('| advisor-chat-model | advisor-chat | mock-gpt-1 | mock-gpt-1 | mock | pinned |');
    const html = await covenant('report', 'system', 'advisor-assist', '--format', 'html');
    expect(html.stdout).toMatch(/^<!doctype html>/);
    expect(html.stdout).toContain('<h1>AI system report: advisor-assist</h1>');
    expect((await covenant('report', 'system', 'advisor-assist', '--format', 'pdf')).code).toBe(2);
    expect((await covenant('report', 'system', 'nowhere')).code).toBe(2);
  });

  it('writes a CycloneDX 1.6 ML-BOM with a model card that the published 1.6 schema accepts', async () => {
    const bom = await covenant('report', 'system', 'advisor-assist', '--format', 'cyclonedx', '--out', 'advisor-assist.cdx.json');
    expect(bom.code).toBe(0);
    const text = readFileSync(join(gateway.directory, 'advisor-assist.cdx.json'), 'utf8');
    const validator = new Validation.JsonStrictValidator(Spec.Version.v1dot6);
    expect(await validator.validate(text)).toBeNull();
    const document = JSON.parse(text);
    expect(document).toMatchObject({ bomFormat: 'CycloneDX', specVersion: '1.6' });
    expect(document.metadata.component).toMatchObject({ type: 'application', name: 'advisor-assist' });
    const model = document.components.find((component: { name: string }) => component.name === 'advisor-chat-model');
    expect(model).toMatchObject({ type: 'machine-learning-model', version: 'mock-gpt-1', supplier: { name: 'northwind-llm' } });
    expect(model.modelCard.modelParameters).toEqual({ task: 'text generation' });
    expect(model.modelCard.considerations.useCases).toEqual(['drafting client briefings for advisors']);
    // A broken document is caught by the same validator, so the check above can fail.
    const broken = JSON.stringify({ ...document, components: [{ ...model, modelCard: { unknownField: 1 } }] });
    expect(await validator.validate(broken)).not.toBeNull();
  });
});
