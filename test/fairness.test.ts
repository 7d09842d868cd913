// Group fairness metrics and Wilson intervals against hand-computed tables and published interval values.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { confusionCounts, confusionRates, fairnessAudit, fairnessReport, type FairnessRecord } from '../src/core/fairness.js';
import { criticalValue, normalQuantile, rateEstimate, wilsonInterval } from '../src/core/intervals.js';

/** `count` records of one group with the given prediction and outcome. */
function many(count: number, attributes: Record<string, string>, predicted: boolean, actual: boolean | null): FairnessRecord[] {
  return Array.from({ length: count }, () => ({ attributes, predicted, actual }));
}

describe('Wilson score interval', () => {
  it('matches published values', () => {
    // 81 successes of 263 trials at 95%: [0.2553, 0.3662] (Wilson interval example; statsmodels proportion_confint method='wilson').
    const interval = wilsonInterval(81, 263);
    expect(interval.lower).toBeCloseTo(0.2553, 4);
    expect(interval.upper).toBeCloseTo(0.3662, 4);
    // 0 of 10: the upper bound is z²/(n+z²) exactly.
    const z = criticalValue(0.95);
    expect(wilsonInterval(0, 10)).toEqual({ lower: 0, upper: expect.closeTo((z * z) / (10 + z * z), 12) });
    expect(wilsonInterval(10, 10).upper).toBe(1);
  });

  it('uses the normal quantile of the confidence level', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 8);
    expect(normalQuantile(0.995)).toBeCloseTo(2.5758293035489, 8);
    expect(normalQuantile(0.01)).toBeCloseTo(-2.3263478740408, 8);
    expect(normalQuantile(0.5)).toBe(0);
    // A wider confidence gives a wider interval.
    expect(wilsonInterval(81, 263, 0.99).lower).toBeLessThan(wilsonInterval(81, 263, 0.95).lower);
  });

  it('always holds the observed proportion inside [0, 1]', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 5000 }), fc.double({ min: 0, max: 1, noNaN: true }), (trials, fraction) => {
      const successes = Math.round(fraction * trials);
      const { lower, upper } = wilsonInterval(successes, trials);
      const p = successes / trials;
      return lower >= 0 && upper <= 1 && lower <= p + 1e-12 && p <= upper + 1e-12;
    }));
  });

  it('gives no estimate for zero trials and refuses impossible counts', () => {
    expect(rateEstimate(0, 0)).toBeNull();
    expect(rateEstimate(3, 4)).toMatchObject({ value: 0.75, successes: 3, trials: 4 });
    expect(() => wilsonInterval(5, 4)).toThrow(RangeError);
  });
});

describe('confusion rates', () => {
  it('counts a table and leaves records without an outcome out of the error rates', () => {
    const records = [
      ...many(30, {}, true, true), ...many(10, {}, true, false), ...many(20, {}, false, true), ...many(40, {}, false, false),
      ...many(5, {}, true, null),
    ];
    const counts = confusionCounts(records);
    expect(counts).toEqual({ count: 105, selected: 45, labelled: 100, truePositives: 30, falsePositives: 10, trueNegatives: 40, falseNegatives: 20 });
    const rates = confusionRates(counts);
    expect(rates.selectionRate?.value).toBeCloseTo(45 / 105, 12);
    expect(rates.truePositiveRate?.value).toBeCloseTo(0.6, 12);
    expect(rates.falsePositiveRate?.value).toBeCloseTo(0.2, 12);
    expect(rates.falseNegativeRate?.value).toBeCloseTo(0.4, 12);
    expect(rates.precision?.value).toBeCloseTo(0.75, 12);
    expect(rates.accuracy?.value).toBeCloseTo(0.7, 12);
    expect(rates.f1).toBeCloseTo((2 * 0.75 * 0.6) / 1.35, 12);
  });

  it('has undefined rates where nothing is in the denominator', () => {
    const rates = confusionRates(confusionCounts(many(3, {}, false, false)));
    expect(rates.truePositiveRate).toBeNull();
    expect(rates.precision).toBeNull();
    expect(rates.f1).toBeNull();
    expect(rates.falsePositiveRate?.value).toBe(0);
  });
});

describe('fairness report', () => {
  // Group a: 100 records, 60 selected; group b: 100 records, 30 selected; group c: 2 records (1% of 202), both selected.
  const records = [
    ...many(40, { g: 'a' }, true, true), ...many(20, { g: 'a' }, true, false), ...many(10, { g: 'a' }, false, true), ...many(30, { g: 'a' }, false, false),
    ...many(20, { g: 'b' }, true, true), ...many(10, { g: 'b' }, true, false), ...many(30, { g: 'b' }, false, true), ...many(40, { g: 'b' }, false, false),
    ...many(2, { g: 'c' }, true, true),
  ];
  const report = fairnessReport(records, ['g']);

  it('computes per-group rates', () => {
    const a = report.groups.find((group) => group.key === 'a')!;
    const b = report.groups.find((group) => group.key === 'b')!;
    expect(a.selectionRate?.value).toBeCloseTo(0.6, 12);
    expect(a.truePositiveRate?.value).toBeCloseTo(0.8, 12); // 40 / 50
    expect(a.falsePositiveRate?.value).toBeCloseTo(0.4, 12); // 20 / 50
    expect(b.truePositiveRate?.value).toBeCloseTo(0.4, 12); // 20 / 50
    expect(b.falsePositiveRate?.value).toBeCloseTo(0.2, 12); // 10 / 50
    expect(b.precision?.value).toBeCloseTo(20 / 30, 12);
    expect(b.selectionRate?.lower).toBeLessThan(0.3);
    expect(b.selectionRate?.upper).toBeGreaterThan(0.3);
  });

  it('reports small groups and leaves them out of the ratios', () => {
    expect(report.smallGroups).toEqual(['c']);
    const c = report.groups.find((group) => group.key === 'c')!;
    expect(c.small).toBe(true);
    expect(c.impactRatio).toBeNull();
    // c's selection rate of 1 would otherwise be the reference.
    expect(report.referenceGroup).toBe('a');
  });

  it('gives the impact ratio, the parity and odds gaps, and the four-fifths verdict', () => {
    expect(report.groups.find((group) => group.key === 'b')!.impactRatio).toBeCloseTo(0.5, 12);
    expect(report.minimumImpactRatio).toBeCloseTo(0.5, 12);
    expect(report.minimumImpactGroup).toBe('b');
    expect(report.passesFourFifths).toBe(false);
    expect(report.demographicParityDifference).toBeCloseTo(0.3, 12);
    expect(report.demographicParityRatio).toBeCloseTo(0.5, 12);
    expect(report.truePositiveRateDifference).toBeCloseTo(0.4, 12);
    expect(report.falsePositiveRateDifference).toBeCloseTo(0.2, 12);
    expect(report.equalizedOddsDifference).toBeCloseTo(0.4, 12); // the greater of the two
    expect(report.equalOpportunityDifference).toBeCloseTo(0.4, 12);
    // Counting c as well (no minimum share) moves the reference and the gaps.
    const all = fairnessReport(records, ['g'], { minGroupShare: 0 });
    expect(all.referenceGroup).toBe('c');
    expect(all.minimumImpactRatio).toBeCloseTo(0.3, 12);
  });

  it('passes the four-fifths rule at equal rates and honours a custom threshold', () => {
    const rows = [...many(10, { g: 'x' }, true, true), ...many(10, { g: 'x' }, false, false), ...many(9, { g: 'y' }, true, true), ...many(11, { g: 'y' }, false, false)];
    const equal = fairnessReport(rows, ['g']);
    expect(equal.minimumImpactRatio).toBeCloseTo(0.9, 12);
    expect(equal.passesFourFifths).toBe(true);
    expect(fairnessReport(rows, ['g'], { minImpactRatio: 0.95 }).passesFourFifths).toBe(false);
  });

  it('applies a minimum group size as well as a share', () => {
    expect(fairnessReport(records, ['g'], { minGroupSize: 101 }).smallGroups).toEqual(['a', 'b', 'c']);
    expect(fairnessReport(records, ['g'], { minGroupSize: 101 }).passesFourFifths).toBe(true);
  });

  it('breaks down by each attribute and by their intersection', () => {
    const people = [
      ...many(30, { race: 'r1', sex: 'f' }, true, true), ...many(20, { race: 'r1', sex: 'f' }, false, false),
      ...many(10, { race: 'r1', sex: 'm' }, true, true), ...many(40, { race: 'r1', sex: 'm' }, false, false),
      ...many(25, { race: 'r2', sex: 'f' }, true, true), ...many(25, { race: 'r2', sex: 'f' }, false, false),
    ];
    const reports = fairnessAudit(people, ['race', 'sex']);
    expect(reports.map((entry) => entry.attributes)).toEqual([['race'], ['sex'], ['race', 'sex']]);
    const intersection = reports[2];
    expect(intersection.groups.map((group) => group.key).sort()).toEqual(['r1 & f', 'r1 & m', 'r2 & f']);
    expect(intersection.groups.find((group) => group.key === 'r1 & m')!.values).toEqual(['r1', 'm']);
    expect(intersection.minimumImpactRatio).toBeCloseTo(0.2 / 0.6, 12);
  });

  it('agrees with a pairwise reference for the differences and ratios', () => {
    const record = fc.record({ g: fc.constantFrom('a', 'b', 'c', 'd'), predicted: fc.boolean(), actual: fc.boolean() });
    fc.assert(fc.property(fc.array(record, { minLength: 1, maxLength: 200 }), (rows) => {
      const records = rows.map((row) => ({ attributes: { g: row.g }, predicted: row.predicted, actual: row.actual }));
      const result = fairnessReport(records, ['g'], { minGroupShare: 0 });
      const groups = [...new Set(rows.map((row) => row.g))];
      const rate = (filter: (row: typeof rows[number]) => boolean, group: string) => {
        const matching = rows.filter((row) => row.g === group && filter(row));
        return matching.length === 0 ? null : matching.filter((row) => row.predicted).length / matching.length;
      };
      const gap = (values: (number | null)[]) => {
        const known = values.filter((value): value is number => value !== null);
        let largest = 0;
        for (const left of known) for (const right of known) largest = Math.max(largest, Math.abs(left - right));
        return known.length === 0 ? null : largest;
      };
      const selection = groups.map((group) => rate(() => true, group));
      const tpr = gap(groups.map((group) => rate((row) => row.actual, group)));
      const fpr = gap(groups.map((group) => rate((row) => !row.actual, group)));
      const close = (left: number | null, right: number | null) => (left === null ? right === null : right !== null && Math.abs(left - right) < 1e-12);
      const rates = selection as number[];
      const ratio = Math.max(...rates) === 0 ? null : Math.min(...rates) / Math.max(...rates);
      return close(result.demographicParityDifference, gap(selection)) && close(result.demographicParityRatio, ratio)
        && close(result.truePositiveRateDifference, tpr) && close(result.falsePositiveRateDifference, fpr)
        && close(result.equalizedOddsDifference, tpr === null && fpr === null ? null : Math.max(tpr ?? 0, fpr ?? 0))
        && close(result.minimumImpactRatio, ratio);
    }));
  });
});
