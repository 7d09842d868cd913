// The contract clause checker on .md, .txt, .docx and .pdf contracts: present, missing and weaker clauses with their
// passages, negations, number words, --emit-policy, and the CLI's exit codes.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { blueprintClauses, clauseIds } from '../src/sourcing/clause-ids.js';
import { checkContract, findClause } from '../src/sourcing/contract-check.js';
import { addMonths, contractPolicy, effectiveDate } from '../src/sourcing/contract-policy.js';
import { markdownBlocks } from '../src/sourcing/document-blocks.js';
import { readContractDocument } from '../src/sourcing/documents.js';
import { findDurations, findFractions, parseNumberWords } from '../src/sourcing/quantities.js';
import { docxFromMarkdown, pdfFromMarkdown } from './helpers/contract-documents.js';
import { runCovenant } from './helpers/process.js';

const fixtures = new URL('./fixtures/contracts/', import.meta.url);
const fixture = (name: string) => join(fixtures.pathname, name);
const strongText = readFileSync(fixture('strong.md'), 'utf8');
const weakText = readFileSync(fixture('weak.txt'), 'utf8');
let directory: string;
const generated: Record<string, string> = {};

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'covenant-contracts-'));
  const weakMarkdown = weakText.replace(/^([A-Z0-9][A-Z0-9 .()-]+)$/gm, '# $1');
  for (const [name, markdown] of [['strong', strongText], ['weak', weakMarkdown]] as const) {
    generated[`${name}.docx`] = join(directory, `${name}.docx`);
    writeFileSync(generated[`${name}.docx`]!, await docxFromMarkdown(markdown));
    generated[`${name}.pdf`] = join(directory, `${name}.pdf`);
    writeFileSync(generated[`${name}.pdf`]!, await pdfFromMarkdown(markdown));
  }
});

afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe('numbers and durations as contracts write them', () => {
  it('reads number words, digits in parentheses, units and percentages', () => {
    expect(parseNumberWords('twenty-four')).toBe(24);
    expect(parseNumberWords('one hundred and twenty')).toBe(120);
    expect(findDurations('within ten (10) business days')).toMatchObject([{ value: 10, unit: 'business_days', text: 'ten (10) business days' }]);
    expect(findDurations('at least two (2) years and 48 hours')).toMatchObject([{ value: 2, unit: 'years' }, { value: 48, unit: 'hours' }]);
    expect(findDurations("sixty (60) days' notice")).toMatchObject([{ value: 60, unit: 'days' }]);
    expect(findFractions('below 0.95, above fifteen percent (15%) or 2%')).toMatchObject([
      { value: 0.95, unit: 'ratio' }, { value: 15, unit: 'percent' }, { value: 2, unit: 'percent' },
    ]);
  });
});

describe('clauses in a Markdown contract', () => {
  it('finds every clause of the strong contract, with its parameters and where it is', async () => {
    const document = await readContractDocument(fixture('strong.md'));
    const check = checkContract(document.blocks, clauseIds);
    expect(check.passed).toBe(true);
    expect(check.findings.every((finding) => finding.status === 'present')).toBe(true);
    const exportClause = check.findings.find((finding) => finding.clause === 'weight_export')!;
    expect(exportClause.parameters.export_days).toEqual({ value: 10, unit: 'business_days', text: 'ten (10) business days' });
    expect(exportClause.passage).toMatchObject({
      quote: 'Vendor shall export the fine-tuned weights to Customer within ten (10) business days of a written request, in open formats (safetensors and ONNX).',
      heading: '1. Weights and ownership', paragraph: 3, page: null,
    });
    const drift = check.findings.find((finding) => finding.clause === 'drift_definition')!;
    expect(drift.parameters).toMatchObject({
      min_similarity: { value: 0.95 }, max_variance: { value: 10 }, max_safety_failure_rate: { value: 0 }, window_days: { value: 7 },
    });
    expect(check.findings.find((finding) => finding.clause === 'version_support')!.parameters.support_months!.value).toBe(24);
  });

  it('reports missing clauses of a short order form, and the one it has', async () => {
    const document = await readContractDocument(fixture('missing.md'));
    const check = checkContract(document.blocks, blueprintClauses.D);
    expect(check.missing).toEqual(['tenant_isolation', 'no_training', 'spend_caps', 'change_notice', 'privacy_cooperation']);
    expect(check.findings.find((finding) => finding.clause === 'data_ownership')).toMatchObject({ status: 'present', passage: { quote: 'Customer owns all prompts and outputs.', heading: '3. Data' } });
    expect(check.passed).toBe(false);
  });

  it('does not take permission to train on customer data for a no-training clause', () => {
    const permits = findClause(markdownBlocks('## Data\n\nVendor may use customer data for training its models.'), 'no_training');
    expect(permits.status).toBe('missing');
    expect(permits.contrary[0]!.quote).toBe('Vendor may use customer data for training its models.');
    const forbids = findClause(markdownBlocks('## Data\n\nVendor shall not use customer data for training any model.'), 'no_training');
    expect(forbids.status).toBe('present');
    const both = findClause(markdownBlocks('Vendor shall not train on Customer prompts.\n\nNotwithstanding the above, Vendor may use Customer Data to improve its models.'), 'no_training');
    expect(both.status).toBe('weaker');
    expect(both.problems).toEqual(['contradicted by paragraph 2']);
    expect(findClause(markdownBlocks('Vendor may change the model at any time without notice.'), 'change_notice').status).toBe('missing');
    expect(findClause(markdownBlocks('Claims may be rejected automatically without human review.'), 'human_review').status).toBe('missing');
    expect(findClause(markdownBlocks('No claim shall be rejected without human review.'), 'human_review').status).toBe('present');
  });

  it('converts units before comparing: two years of support, fourteen calendar days for ten business days', () => {
    expect(findClause(markdownBlocks('Vendor shall keep the base model version available for two (2) years.'), 'version_support', [{ parameter: 'support_months', unit: 'months', min: 24 }]).status).toBe('present');
    expect(findClause(markdownBlocks('Vendor shall export the weights as safetensors within fourteen (14) calendar days.'), 'weight_export', [{ parameter: 'export_days', unit: 'business_days', max: 10 }]).status).toBe('present');
    const late = findClause(markdownBlocks('Vendor shall export the weights as safetensors within twenty-one (21) days.'), 'weight_export', [{ parameter: 'export_days', unit: 'business_days', max: 10 }]);
    expect(late.status).toBe('weaker');
    expect(late.problems).toEqual(['"twenty-one (21) days" where at most 10 business days are allowed']);
  });
});

describe('weaker clauses in a plain-text contract', () => {
  it('quotes each weaker passage with what falls short', async () => {
    const document = await readContractDocument(fixture('weak.txt'));
    const check = checkContract(document.blocks, blueprintClauses.A);
    const finding = (id: string) => check.findings.find((each) => each.clause === id)!;
    expect(finding('weight_export')).toMatchObject({
      status: 'weaker',
      passage: { quote: 'Vendor shall export the fine-tuned weights within fifteen (15) business days of a request.', heading: '1. WEIGHTS', paragraph: 3 },
      problems: ['names no open format (safetensors, ONNX)', '"fifteen (15) business days" where at most 10 business days are allowed'],
    });
    expect(finding('version_support').problems).toEqual(['"twelve (12) months" where at least 24 months are required']);
    expect(finding('change_notice').problems).toEqual(['"thirty (30) days" where at least 60 days are required']);
    expect(finding('rollback').problems).toEqual(['"forty-eight (48) hours" where at most 24 hours are allowed']);
    expect(finding('drift_definition').problems).toEqual([
      '"0.90" where at least 0.95 is required', '"twenty percent (20%)" where at most 15% is allowed', '"one percent (1%)" where at most 0% is allowed',
    ]);
    expect(finding('liability_caps').problems).toEqual(['is one flat cap, not tiered by risk']);
    expect(finding('no_training')).toMatchObject({ status: 'missing', contrary: [{ quote: 'Vendor may use Customer Data and prompts to train and improve its models.', heading: '4. DATA' }] });
    expect(check.missing).toEqual(['staging_access', 'version_registry', 'no_training']);
    expect(check.weaker).toEqual(['weight_export', 'version_support', 'change_notice', 'rollback', 'drift_definition', 'liability_caps']);
  });
});

describe('.docx and .pdf contracts', () => {
  it('reads a .docx (mammoth) with its headings and paragraphs', async () => {
    const strong = await readContractDocument(generated['strong.docx']!);
    expect(strong.format).toBe('docx');
    expect(checkContract(strong.blocks, clauseIds).passed).toBe(true);
    const weak = checkContract((await readContractDocument(generated['weak.docx']!)).blocks, blueprintClauses.B);
    expect(weak.findings.find((finding) => finding.clause === 'change_notice')).toMatchObject({
      status: 'weaker', passage: { quote: "Vendor shall give thirty (30) days' notice of any change to a model version.", heading: '2. VERSIONS' },
    });
  });

  it('reads a .pdf (unpdf) and says which page each passage is on', async () => {
    const strong = await readContractDocument(generated['strong.pdf']!);
    expect(strong.format).toBe('pdf');
    const check = checkContract(strong.blocks, clauseIds);
    expect(check.passed).toBe(true);
    expect(check.findings.find((finding) => finding.clause === 'rollback')!.passage).toMatchObject({
      quote: "Vendor shall roll back to the last known-stable version within four (4) hours of Customer's request.", heading: '2. Model versions', page: 3,
    });
    const weak = checkContract((await readContractDocument(generated['weak.pdf']!)).blocks, blueprintClauses.A);
    expect(weak.weaker).toContain('weight_export');
    expect(weak.findings.find((finding) => finding.clause === 'weight_export')!.passage!.page).toBe(2);
  });
});

describe('contract policy', () => {
  it('turns the parameters found into the model alias\'s contract block', async () => {
    const document = await readContractDocument(fixture('strong.md'));
    expect(effectiveDate(document.text)).toBe('2027-03-01');
    expect(addMonths('2027-01-31', 1)).toBe('2027-02-28');
    expect(contractPolicy(checkContract(document.blocks, clauseIds).findings, '2027-03-01')).toEqual({
      support_until: '2029-03-01', notice_days: 90, drift: { min_similarity: 0.95, max_variance: 0.1, max_safety_failures: 0, window: '7d' },
    });
  });
});

describe('covenant contract check', () => {
  it('exits 0 when every required clause is present, 1 when one is missing or weaker, 2 for unreadable input', async () => {
    const strong = await runCovenant(['contract', 'check', fixture('strong.md'), '--blueprint', 'A']);
    expect(strong.code).toBe(0);
    expect(strong.stdout).toContain('Every required clause is present and as strong as required.');
    const weak = await runCovenant(['contract', 'check', fixture('weak.txt'), '--blueprint', 'B']);
    expect(weak.code).toBe(1);
    expect(weak.stdout).toContain('WEAKER   change_notice (Notice of model changes)');
    expect(weak.stdout).toContain('"thirty (30) days" where at least 60 days are required');
    expect(weak.stdout).toContain('says the opposite: "Vendor may use Customer Data and prompts to train and improve its models." (section "4. DATA", paragraph 8)');
    const pdf = await runCovenant(['contract', 'check', generated['weak.pdf']!, '--blueprint', 'A', '--json']);
    expect(pdf.code).toBe(1);
    expect(JSON.parse(pdf.stdout)).toMatchObject({ format: 'pdf', blueprint: 'A', passed: false });
    const broken = join(directory, 'broken.pdf');
    writeFileSync(broken, 'not a pdf at all');
    const unreadable = await runCovenant(['contract', 'check', broken]);
    expect(unreadable.code).toBe(2);
    expect(unreadable.stderr).toMatch(/broken\.pdf: not a readable pdf file/);
    expect((await runCovenant(['contract', 'check', join(directory, 'nothing.md')])).code).toBe(2);
    expect((await runCovenant(['contract', 'check', fixture('strong.md'), '--blueprint', 'Z'])).code).toBe(2);
  });

  it('--emit-policy prints YAML config that carries the contract\'s terms', async () => {
    const result = await runCovenant(['contract', 'check', generated['strong.docx']!, '--blueprint', 'A', '--emit-policy', '--model', 'claims-llm']);
    expect(result.code).toBe(0);
    expect(parse(result.stdout)).toEqual({
      models: { 'claims-llm': { contract: { support_until: '2029-03-01', notice_days: 90, drift: { min_similarity: 0.95, max_variance: 0.1, max_safety_failures: 0, window: '7d' } } } },
    });
  });

  it('--system reads the required clauses from the inventory on the gateway', async () => {
    const seen: string[] = [];
    const server: Server = createServer((request, response) => {
      seen.push(`${request.method} ${request.url} ${request.headers.authorization}`);
      if (request.url === '/admin/inventory/systems/advisor-chat') {
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ name: 'advisor-chat', blueprint: 'D', required_clauses: ['bias_testing'] }));
      } else response.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'There is no system "x".' } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const result = await runCovenant(['contract', 'check', fixture('strong.md'), '--system', 'advisor-chat', '--url', url, '--json'], { environment: { COVENANT_ADMIN_KEY: 'sk-inventory' } });
      expect(result.code).toBe(0);
      const check = JSON.parse(result.stdout);
      expect(check).toMatchObject({ system: 'advisor-chat', blueprint: 'D', passed: true });
      expect(check.required).toEqual(['change_notice', 'spend_caps', 'no_training', 'data_ownership', 'privacy_cooperation', 'tenant_isolation', 'bias_testing']);
      expect(seen).toEqual(['GET /admin/inventory/systems/advisor-chat Bearer sk-inventory']);
      const unknown = await runCovenant(['contract', 'check', fixture('strong.md'), '--system', 'x', '--url', url], { environment: { COVENANT_ADMIN_KEY: 'sk-inventory' } });
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('There is no system "x".');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
