// `covenant bias audit` run as a user runs it: CSV in, table/JSON/HTML out, exit 1 on a four-fifths failure, stored decisions from a gateway.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCovenant } from './helpers/process.js';

let directory: string;
let csv: string;

function rows(count: number, group: string, sex: string, score: number, label: number): string[] {
  return Array.from({ length: count }, () => `${group},${sex},${score},${label}`);
}

beforeAll(() => {
  directory = mkdtempSync(join(tmpdir(), 'covenant-bias-'));
  csv = join(directory, 'scores.csv');
  // Group a: 60 of 100 selected (score 0.9); group b: 30 of 100; group c: 2 records (under 2%).
  writeFileSync(csv, ['group,sex,score,approved',
    ...rows(40, 'a', 'f', 0.9, 1), ...rows(20, 'a', 'm', 0.9, 0), ...rows(10, 'a', 'f', 0.1, 1), ...rows(30, 'a', 'm', 0.1, 0),
    ...rows(20, 'b', 'f', 0.9, 1), ...rows(10, 'b', 'm', 0.9, 0), ...rows(30, 'b', 'f', 0.1, 1), ...rows(40, 'b', 'm', 0.1, 0),
    ...rows(2, 'c', 'f', 0.9, 1)].join('\n'));
});

afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe('covenant bias audit --input', () => {
  it('prints per-group rates with intervals and exits 1 when the four-fifths rule fails', async () => {
    const result = await runCovenant(['bias', 'audit', '--input', csv, '--group', 'group', '--prediction', 'score > 0.5', '--label', 'approved']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^a\s+100\s+49\.5%\s+0\.600 \[0\.502, 0\.691\]\s+0\.800/m);
    expect(result.stdout).toMatch(/^c\*\s+2\s+.*small$/m);
    expect(result.stdout).toContain('Lowest impact ratio: 0.500 (b vs a); minimum 0.80 — FAIL');
    expect(result.stdout).toContain('Equalized odds difference 0.400 (TPR gap 0.400, FPR gap 0.200)');
    expect(result.stdout).toContain('Demographic parity difference 0.300, ratio 0.500');
  });

  it('exits 0 when the impact ratio meets a lower minimum', async () => {
    const result = await runCovenant(['bias', 'audit', '--input', csv, '--group', 'group', '--prediction', 'score > 0.5', '--min-impact-ratio', '0.4']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('outcome: none (selection rates only)');
    expect(result.stdout).toContain('Result: PASS');
  });

  it('reports each attribute and their intersection as JSON, and filters rows with --where', async () => {
    const result = await runCovenant(['bias', 'audit', '--input', csv, '--group', 'group', '--group', 'sex', '--prediction', 'score >= 0.5',
      '--label', 'approved', '--where', "group != 'c'", '--json']);
    const audit = JSON.parse(result.stdout) as { description: { records: number; filtered: number }; reports: { attributes: string[]; groups: { key: string; selectionRate: { value: number } }[] }[] };
    expect(audit.description).toMatchObject({ records: 200, filtered: 2 });
    expect(audit.reports.map((report) => report.attributes)).toEqual([['group'], ['sex'], ['group', 'sex']]);
    const intersection = audit.reports[2].groups.find((group) => group.key === 'b & m')!;
    expect(intersection.selectionRate.value).toBeCloseTo(10 / 50, 12);
  });

  it('writes one self-contained HTML page with SVG charts', async () => {
    const out = join(directory, 'audit.html');
    const result = await runCovenant(['bias', 'audit', '--input', csv, '--group', 'group', '--prediction', 'score > 0.5', '--label', 'approved', '--format', 'html', '--out', out]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`Wrote the html report to ${out}: FAIL`);
    const html = readFileSync(out, 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html.match(/<svg /g)).toHaveLength(2);
    expect(html).toContain('Selection rate by group');
    expect(html).toContain('False positive and false negative rates by group');
    expect(html).not.toMatch(/<script|src=|href=/);
  });

  it('treats bad expressions, unknown columns and missing files as input errors (exit 2)', async () => {
    const badExpression = await runCovenant(['bias', 'audit', '--input', csv, '--group', 'group', '--prediction', 'score >= high']);
    expect(badExpression.code).toBe(2);
    expect(badExpression.stderr).toContain('--prediction: ">=" compares numbers');
    const injection = await runCovenant(['bias', 'audit', '--input', csv, '--group', 'group', '--prediction', 'score > 0.5 || process.exit(0)']);
    expect(injection.code).toBe(2);
    const unknown = await runCovenant(['bias', 'audit', '--input', csv, '--group', 'race', '--prediction', 'score > 0.5']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--group "race" is not a column of');
    expect(unknown.stderr).toContain('its columns are: group, sex, score, approved');
    const missing = await runCovenant(['bias', 'audit', '--input', join(directory, 'none.csv'), '--group', 'group', '--prediction', 'score']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('ENOENT');
    const both = await runCovenant(['bias', 'audit', '--group', 'group', '--prediction', 'score']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('pass --input FILE.csv or --system NAME');
  });
});

describe('covenant bias audit --system', () => {
  let server: Server;
  let url: string;
  const seen: { path?: string; authorization?: string } = {};

  beforeAll(async () => {
    // The decisions API's answer shape: GET /admin/systems/:name/decisions?include=protected.
    const decisions = [
      ...Array.from({ length: 50 }, (_, index) => ({ sex: 'F', approved: index < 20, outcome: index < 25 ? 'approve' : 'reject' })),
      ...Array.from({ length: 50 }, (_, index) => ({ sex: 'M', approved: index < 40, outcome: index < 30 ? 'approve' : null })),
    ].map((entry, index) => ({
      id: `d${index}`, system: 'loans', subject_ref: `s${index}`, recommendation: 'reject', score: 0.5, status: 'final',
      final_outcome: entry.approved ? 'approve' : 'reject', outcome: entry.outcome, model_version: 'v1', time: '2026-12-01T00:00:00Z',
      protected: { sex: entry.sex },
    }));
    server = createServer((request, response) => {
      seen.path = request.url;
      seen.authorization = request.headers.authorization;
      response.setHeader('content-type', 'application/json');
      if (request.url?.startsWith('/admin/systems/loans/decisions')) response.end(JSON.stringify({ decisions }));
      else if (request.url === '/admin/systems') response.end(JSON.stringify({ data: [{ name: 'loans', review: { adverse: ['reject', 'deny'] } }] }));
      else { response.statusCode = 404; response.end(JSON.stringify({ error: { message: 'no such system' } })); }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address() as { port: number };
    url = `http://127.0.0.1:${address.port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('audits stored decisions by their protected attributes', async () => {
    const result = await runCovenant(['bias', 'audit', '--system', 'loans', '--url', url, '--favorable', 'approve', '--since', '2026-11-01T00:00:00Z', '--json'], { environment: { COVENANT_ADMIN_KEY: 'sk-auditor' } });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(1);
    expect(seen).toEqual({ path: '/admin/systems/loans/decisions?include=protected&since=2026-11-01T00%3A00%3A00Z', authorization: 'Bearer sk-auditor' });
    const audit = JSON.parse(result.stdout) as { passes: boolean; reports: { attributes: string[]; minimumImpactRatio: number; groups: { key: string; counts: { labelled: number }; selectionRate: { value: number } }[] }[] };
    expect(audit.reports[0].attributes).toEqual(['sex']);
    const female = audit.reports[0].groups.find((group) => group.key === 'F')!;
    const male = audit.reports[0].groups.find((group) => group.key === 'M')!;
    expect(female.selectionRate.value).toBeCloseTo(0.4, 12);
    expect(male.selectionRate.value).toBeCloseTo(0.8, 12);
    expect(male.counts.labelled).toBe(30);
    expect(audit.reports[0].minimumImpactRatio).toBeCloseTo(0.5, 12);
  });

  it('without --favorable, counts every outcome the system does not call adverse as favourable', async () => {
    const result = await runCovenant(['bias', 'audit', '--system', 'loans', '--url', url, '--json'], { environment: { COVENANT_ADMIN_KEY: 'sk-auditor' } });
    expect(result.stderr).toBe('');
    const audit = JSON.parse(result.stdout) as { description: { prediction: string }; reports: { minimumImpactRatio: number; groups: { key: string; selectionRate: { value: number } }[] }[] };
    expect(audit.description.prediction).toContain('not adverse (reject, deny)');
    // The same figures as --favorable approve: approve is the only outcome here that is not adverse.
    expect(audit.reports[0].groups.find((group) => group.key === 'F')!.selectionRate.value).toBeCloseTo(0.4, 12);
    expect(audit.reports[0].groups.find((group) => group.key === 'M')!.selectionRate.value).toBeCloseTo(0.8, 12);
    expect(audit.reports[0].minimumImpactRatio).toBeCloseTo(0.5, 12);
  });

  it('says so when the gateway does not know the system', async () => {
    const result = await runCovenant(['bias', 'audit', '--system', 'nope', '--url', url], { environment: { COVENANT_ADMIN_KEY: 'sk-auditor' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('the gateway answered HTTP 404: no such system');
  });
});
