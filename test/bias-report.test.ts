// The audit's renderers and the vendor-explanation check, without a process: escaping, verdicts, tolerance.
import { describe, expect, it } from 'vitest';
import { formatAuditHtml, formatAuditText, type BiasAudit } from '../src/cli/bias-report.js';
import { checkExplanation, instanceVector, thinRows, type ExplanationPayload } from '../src/cli/explain.js';
import { fairnessAudit } from '../src/core/fairness.js';

function audit(groupName: string): BiasAudit {
  const records = [
    ...Array.from({ length: 50 }, (_, index) => ({ attributes: { g: groupName }, predicted: index < 10, actual: index < 20 })),
    ...Array.from({ length: 50 }, (_, index) => ({ attributes: { g: 'other' }, predicted: index < 40, actual: index < 30 })),
  ];
  const reports = fairnessAudit(records, ['g']);
  return {
    description: { source: 'x.csv', prediction: 'score > 0.5', label: 'y = 1', records: 100, filtered: 0, minGroupShare: 0.02, confidence: 0.95 },
    reports, passes: reports.every((report) => report.passesFourFifths),
  };
}

describe('audit rendering', () => {
  it('escapes group names in the HTML page', () => {
    const html = formatAuditHtml(audit('<script>alert(1)</script>'));
    expect(html).not.toContain('<script>');
    expect(html).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
  });

  it('states the verdict with the failing group and the reference group', () => {
    const text = formatAuditText(audit('women'));
    expect(text).toContain('Lowest impact ratio: 0.250 (women vs other); minimum 0.80 — FAIL');
    expect(text).toContain('Result: FAIL');
  });
});

describe('vendor explanation check', () => {
  const computed: ExplanationPayload = {
    method: 'kernel_shap', value: 0.7, base_value: 0.4, attributions: { a: 0.2, b: 0.1 }, exact: true, coalitions: 2, evaluations: 4, requests: 1, background_rows: 1,
  };

  it('agrees within the tolerance, by name or in column order', () => {
    expect(checkExplanation({ base_value: 0.405, attributions: { a: 0.196, b: 0.099 } }, computed, 0.01).agrees).toBe(true);
    expect(checkExplanation({ base_value: 0.4, attributions: [0.2, 0.1] }, computed, 0.01).agrees).toBe(true);
  });

  it('disagrees on a shifted base value, a wrong attribution, or a missing feature', () => {
    expect(checkExplanation({ base_value: 0.5, attributions: { a: 0.2, b: 0.1 } }, computed, 0.01).agrees).toBe(false);
    const swapped = checkExplanation({ base_value: 0.4, attributions: { a: 0.1, b: 0.2 } }, computed, 0.01);
    expect(swapped.agrees).toBe(false);
    expect(swapped.vendor_locally_accurate).toBe(true);
    const missing = checkExplanation({ base_value: 0.4, attributions: { a: 0.3 } }, computed, 0.01);
    expect(missing.missing).toEqual(['b']);
    expect(missing.agrees).toBe(false);
    expect(() => checkExplanation({ attributions: {} }, computed, 0.01)).toThrow(/base_value/);
  });

  it('reads an instance by name or position and thins a background evenly', () => {
    expect(instanceVector({ b: 2, a: 1 }, ['a', 'b'])).toEqual([1, 2]);
    expect(() => instanceVector({ a: 1, c: 3 }, ['a', 'b'])).toThrow(/lacks: c/);
    expect(() => instanceVector(['1', 2], ['a', 'b'])).toThrow(/a must be a number/);
    expect(thinRows([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 5)).toEqual([0, 2, 4, 6, 8]);
    expect(thinRows([1, 2], 5)).toEqual([1, 2]);
  });
});
