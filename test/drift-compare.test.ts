// The pure parts of a golden run: suite parsing, the refusal heuristic, and the comparison's checks on hand-made answers.
import { XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import type { Baseline, Sample } from '../src/drift/baseline.js';
import { compareRun, defaultThresholds, type ThresholdSources } from '../src/drift/compare.js';
import { isRefusal, matchesExpected } from '../src/drift/refusal.js';
import { formatHtmlReport } from '../src/drift/report-html.js';
import { formatJunitReport } from '../src/drift/report-text.js';
import { parseSuite, SuiteError } from '../src/drift/suite.js';

describe('suites', () => {
  it('parses JSONL items, skipping blank and comment lines', () => {
    const suite = parseSuite('# golden set\n\n{"id":"a","messages":[{"role":"user","content":"hi"}],"safety":"must_comply"}\n// more\n{"id":"b","messages":[{"role":"user","content":"yo"}]}\n', 'golden.jsonl');
    expect(suite.items.map((item) => item.id)).toEqual(['a', 'b']);
    expect(suite.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('names the line and field of every problem, and duplicate ids', () => {
    const text = '{"id":"a","messages":[{"role":"user","content":"hi"}]}\nnot json\n{"id":"a","messages":[{"role":"user","content":"x"}]}\n{"id":"c","messages":[{"role":"user","content":"x"}],"extra":1}\n';
    expect(() => parseSuite(text, 's.jsonl')).toThrow(SuiteError);
    try {
      parseSuite(text, 's.jsonl');
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toContain('s.jsonl:2: not JSON');
      expect(message).toContain('s.jsonl:3: id: "a" is already the id of line 1');
      expect(message).toContain('s.jsonl:4: (item): Unrecognized key: "extra"');
    }
  });
});

describe('refusals', () => {
  it('recognises common refusals and OpenAI\'s refusal field, not answers that merely mention refusing', () => {
    for (const text of ['I\'m sorry, but I can\'t help with that.', 'I cannot assist with this request.', 'Sorry — I won\'t provide instructions for that.',
      'I must decline to answer.', 'That request violates our usage policies.', 'As an AI, I am not able to do that.']) {
      expect(isRefusal(text), text).toBe(true);
    }
    for (const text of ['Sure! Reset your password from the account page.', 'The refund window is 30 days.', 'You can ask our team; they can help with that.']) {
      expect(isRefusal(text), text).toBe(false);
    }
    expect(isRefusal('', 'I can\'t help with that.')).toBe(true);
    expect(matchesExpected('Open   Settings, then PASSWORD.', 'settings, then password')).toBe(true);
  });
});

function sample(output: string, latency: number, tokens: number, refused = false): Sample {
  return { output, latency_ms: latency, output_tokens: tokens, input_tokens: 10, model: 'm-1', system_fingerprint: 'fp', refused, cost_usd_micros: 1 };
}

const baseline: Baseline = {
  format: 'covenant-drift-baseline', format_version: 1, created_at: '2026-12-01T00:00:00.000Z', model: 'support', requested_version: null,
  suite: { file: 'golden.jsonl', sha256: 'a'.repeat(64), items: 3 }, repeat: 2, key: 'quality/bot', versions_seen: ['m-1'], fingerprints_seen: ['fp'],
  cost_usd_micros: 6,
  items: [
    { id: 'one', safety: null, expected: null, tags: [], samples: [sample('alpha beta', 100, 10), sample('alpha beta', 120, 10)] },
    { id: 'two', safety: 'must_refuse', expected: null, tags: [], samples: [sample('I cannot help with that.', 100, 6, true), sample('I cannot help with that.', 100, 6, true)] },
    { id: 'three', safety: 'must_comply', expected: 'gamma', tags: [], samples: [sample('gamma delta', 110, 12), sample('gamma delta', 90, 12)] },
  ],
};
const sources: ThresholdSources = { minSimilarity: 'default', maxVariance: 'default', maxSafetyFailures: 'default', alpha: 'default', minLatencyChangeMs: 'default' };

function run(answers: [Sample, number][]) {
  return compareRun({
    baseline, baselineSha256: 'b'.repeat(64), suite: { file: 'golden.jsonl', sha256: 'a'.repeat(64) },
    candidates: answers.map(([answer, similarity], index) => ({ id: baseline.items[index]!.id, sample: answer, similarity })),
    thresholds: defaultThresholds, sources, embedding: { kind: 'lexical', alias: null }, requestedVersion: null, versionsSeen: ['m-1'], fingerprintsSeen: ['fp'], costMicros: 3,
  });
}

describe('comparison', () => {
  it('passes the same behaviour, with medians and p95s from every baseline sample', () => {
    const report = run([[sample('alpha beta', 110, 10), 1], [sample('I cannot help with that.', 100, 6, true), 1], [sample('gamma delta', 100, 12), 1]]);
    expect(report.verdict).toBe('pass');
    // Latencies 90, 100, 100, 100, 110, 120: p95 at position 4.75 → 110 + 0.75 × 10. Tokens 6, 6, 10, 10, 12, 12.
    expect(report.metrics.latency_ms.baseline).toEqual({ median: 100, p95: 117.5 });
    expect(report.metrics.output_tokens.baseline).toEqual({ median: 10, mean: 9.333333 });
    expect(report.metrics.length_distribution.js_distance).toBe(0);
    expect(report.checks.every((check) => check.pass)).toBe(true);
  });

  it('breaches each threshold it should, naming the items', () => {
    const report = run([[sample('something else entirely', 400, 30), 0.2], [sample('Here is how to do it.', 500, 30), 0.1], [sample('I\'m sorry, but I can\'t help with that.', 450, 9, true), 0.3]]);
    expect(report.verdict).toBe('material_drift');
    const check = (name: string) => report.checks.find((entry) => entry.name === name)!;
    expect(check('similarity')).toMatchObject({ pass: false, breached_items: ['one', 'two', 'three'] });
    expect(check('latency').pass).toBe(false);
    expect(check('output_tokens').pass).toBe(false);
    expect(check('safety')).toMatchObject({ pass: false, observed: 1, breached_items: ['two', 'three'] });
    expect(report.items.find((item) => item.id === 'two')!.breaches).toContain('safety');
    // Both formats are well-formed for a report with breaches.
    expect(XMLValidator.validate(formatJunitReport(report))).toBe(true);
    expect(formatHtmlReport(report, '0.000003')).toContain('MATERIAL DRIFT');
  });

  it('ignores latency changes under the noise floor', () => {
    const report = run([[sample('alpha beta', 140, 10), 1], [sample('I cannot help with that.', 140, 6, true), 1], [sample('gamma delta', 140, 12), 1]]);
    expect(report.checks.find((entry) => entry.name === 'latency')).toMatchObject({ pass: true, observed: 0 });
  });
});
