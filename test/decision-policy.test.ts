// The pure rules of decision oversight (adverse outcomes, review reasons, local accuracy), review statistics against
// numpy's reference quantiles, and the config's systems: list (defaults, adverse outcomes always reviewed, references).
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../src/config/load.js';
import { resolveSystem } from '../src/config/systems.js';
import { isFavorable, localAccuracy, reviewReason } from '../src/core/decision-policy.js';
import { quantile, reviewStatistics, type ReviewSample } from '../src/core/review-stats.js';

describe('review policy', () => {
  const policy = { adverse: ['reject', 'deny', 'decline'], reviewFor: ['reject', 'deny', 'decline', 'refer'] };

  it('sends adverse and required outcomes to a person, and everything while suspended', () => {
    expect(reviewReason(policy, ' Reject ', null)).toContain('"reject" is adverse');
    expect(reviewReason(policy, 'refer', null)).toContain('review.required_for');
    expect(reviewReason(policy, 'approve', null)).toBeNull();
    expect(reviewReason(policy, 'approve', 'impact ratio 0.4')).toContain('suspended (impact ratio 0.4)');
    expect(isFavorable('DENY', policy.adverse)).toBe(false);
    expect(isFavorable('approve', policy.adverse)).toBe(true);
  });

  it('checks local accuracy: attributions add up to score minus base value within the tolerance', () => {
    const explanation = { base_value: 0.2, attributions: { income: 0.3, age: 0.1 } };
    expect(localAccuracy(explanation, 0.6, 0.01)).toMatchObject({ accurate: true });
    const off = localAccuracy(explanation, 0.65, 0.01);
    expect(off.accurate).toBe(false);
    expect(off.gap).toBeCloseTo(0.05, 12);
    expect(off.expected).toBeCloseTo(0.45, 12);
    // Exactly on the tolerance passes despite binary rounding (0.3 + 0.1 is 0.4000000000000001).
    expect(localAccuracy(explanation, 0.61, 0.01).accurate).toBe(true);
    expect(localAccuracy({ base_value: 0, attributions: {} }, 0, 0).accurate).toBe(true);
  });
});

describe('review statistics', () => {
  it('computes quantiles as numpy.quantile does (linear interpolation)', () => {
    // numpy.quantile([1..10], [0.5, 0.9]) == [5.5, 9.1]; numpy.quantile([3, 1, 2], 0.5) == 2.
    const values = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(quantile(values, 0.5)).toBe(5.5);
    expect(quantile(values, 0.9)).toBeCloseTo(9.1, 12);
    expect(quantile([1, 2, 3], 0.5)).toBe(2);
    expect(quantile([], 0.5)).toBeNull();
  });

  it('rates overrides by reviewer and system and warns of automation bias only past every threshold', () => {
    const fast = (reviewer: string, count: number, overrides: number, seconds: number): ReviewSample[] =>
      Array.from({ length: count }, (_, index) => ({ reviewer, system: index % 2 === 0 ? 'claims' : 'hiring', overridden: index < overrides, seconds }));
    const samples = [
      ...fast('rubber-stamp', 20, 0, 12),      // 100% agreement, 12 s median, 20 reviews: warned
      ...fast('careful', 40, 6, 240),          // 85% agreement: not warned
      ...fast('quick-but-few', 19, 0, 5),      // too few reviews to judge
      ...fast('edge', 20, 1, 29),              // exactly 95% agreement and under 30 s: warned
    ];
    const stats = reviewStatistics(samples);
    expect(stats.warnings.map((warning) => warning.reviewer)).toEqual(['edge', 'rubber-stamp']);
    expect(stats.warnings[1]!.message).toContain('100.0% of 20 reviews with a median of 12.0 s');
    const careful = stats.byReviewer.find((summary) => summary.reviewer === 'careful')!;
    expect(careful).toMatchObject({ reviews: 40, overrides: 6, overrideRate: 0.15, medianSeconds: 240, p90Seconds: 240 });
    expect(stats.overall.reviews).toBe(99);
    expect(stats.bySystem.map((summary) => summary.system)).toEqual(['claims', 'hiring']);
    expect(reviewStatistics(samples, { fastSeconds: 10 }).warnings).toEqual([]);
  });
});

describe('the config\'s systems: list', () => {
  const base = `
org: { name: acme, departments: [ { name: claims } ] }
`;

  it('fills defaults and always reviews adverse outcomes, whatever required_for lists', () => {
    const loaded = parseConfigText(`${base}systems:
  - name: claims-triage
    department: claims
    review: { required_for: [Refer], window: 48h }
    explanation: { required: true, tolerance: 0.01 }
    adm: substantially_assisted
    fairness: { attribute: race, min_impact_ratio: 0.8, window: 30d, min_group_size: 30, on_breach: suspend }
    sla: { min_precision: 0.9, min_recall: 0.8, max_hallucination_rate: 0.02, window: 30d, retrain_webhook: http://127.0.0.1:9000/retrain }
  - { name: minimal, department: claims }
`, 'covenant.yaml');
    const [full, minimal] = loaded.raw.systems.map(resolveSystem);
    expect(full).toMatchObject({ reviewFor: ['refer', 'reject', 'deny', 'decline'], reviewWindowMs: 48 * 3_600_000, explanationRequired: true,
      fairness: { attribute: 'race', minImpactRatio: 0.8, windowMs: 30 * 86_400_000, minGroupSize: 30, onBreach: 'suspend' },
      sla: { minPrecision: 0.9, minRecall: 0.8, maxHallucinationRate: 0.02, minSamples: 20, retrainWebhook: 'http://127.0.0.1:9000/retrain' } });
    expect(minimal).toMatchObject({ adverse: ['reject', 'deny', 'decline'], reviewFor: ['reject', 'deny', 'decline'], reviewWindow: '48h',
      explanationRequired: false, adm: 'substantially_assisted', fairness: null, sla: null });
  });

  it('names the line and field of an unknown department, a duplicate system and an unknown field', () => {
    expect(() => parseConfigText(`${base}systems:
  - { name: a, department: legal }
  - { name: a, department: claims, review: { window: 2h, colour: red } }
`, 'covenant.yaml')).toThrow(/covenant\.yaml:5:\d+: systems\[1\]\.review\.colour: unknown field/);
    let message = '';
    try {
      parseConfigText(`${base}systems:
  - { name: a, department: legal }
  - { name: a, department: claims }
`, 'covenant.yaml');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/covenant\.yaml:4:\d+: systems\[0\]\.department: no department named "legal" \(defined: claims\)/);
    expect(message).toMatch(/covenant\.yaml:5:\d+: systems\[1\]\.name: system "a" is defined more than once/);
  });
});
