// Burn-rate math against hand-computed rates, projections and jumps.
import { describe, expect, it } from 'vitest';
import { baselineRate, durationMs, projectedExhaustion, rateJumped, spendRate, spentAt } from '../src/core/burn-rate.js';

const minute = 60_000;

describe('burn-rate math', () => {
  // Spent grows by 100 a minute for ten minutes, then 1,000 a minute for two.
  const samples = [
    ...Array.from({ length: 11 }, (_, index) => ({ time: index * minute, spent: index * 100 })),
    { time: 11 * minute, spent: 2000 }, { time: 12 * minute, spent: 3000 },
  ];

  it('reads the counter at a time as the latest sample at or before it', () => {
    expect(spentAt(samples, 2.5 * minute)).toBe(200);
    expect(spentAt(samples, 3 * minute)).toBe(300);
    expect(spentAt(samples, -1)).toBeUndefined();
  });

  it('measures the rate over the recent window, the whole window as denominator', () => {
    // Last two minutes: 3000 - 1000 over 120,000 ms.
    expect(spendRate(samples, 12 * minute, 2 * minute)).toBeCloseTo(2000 / 120_000, 12);
    // Tracking began one minute ago with 500 spent: only the 100 since counts, over the full five minutes.
    expect(spendRate([{ time: 0, spent: 500 }, { time: minute, spent: 600 }], minute, 5 * minute)).toBeCloseTo(100 / 300_000, 12);
    expect(spendRate([], 0, minute)).toBe(0);
  });

  it('measures the trailing baseline before the window, only once it is covered', () => {
    // Window: minutes 10–12; baseline: minutes 2–10, 1000 - 200 over 8 minutes.
    expect(baselineRate(samples, 12 * minute, 2 * minute, 8 * minute)).toBeCloseTo(800 / (8 * minute), 12);
    expect(baselineRate(samples, 12 * minute, 2 * minute, 11 * minute)).toBeUndefined();
  });

  it('projects exhaustion inside the period, and none past its end', () => {
    // 4,000 left of 10,000 at 1,000 a minute: four minutes from now.
    expect(projectedExhaustion({ spent: 6000, limit: 10_000, ratePerMs: 1000 / minute, now: 12 * minute, periodEnd: 60 * minute })).toBe(16 * minute);
    expect(projectedExhaustion({ spent: 6000, limit: 10_000, ratePerMs: 1000 / minute, now: 12 * minute, periodEnd: 16 * minute })).toBeUndefined();
    expect(projectedExhaustion({ spent: 6000, limit: 10_000, ratePerMs: 0, now: 0, periodEnd: 60 * minute })).toBeUndefined();
    expect(projectedExhaustion({ spent: 10_000, limit: 10_000, ratePerMs: 0, now: 5, periodEnd: 60 * minute })).toBe(5);
    // 1 left at 3 per ms: a third of a millisecond, rounded up.
    expect(projectedExhaustion({ spent: 9, limit: 10, ratePerMs: 3, now: 100, periodEnd: 200 })).toBe(101);
  });

  it('calls a jump only against a positive baseline', () => {
    const recent = spendRate(samples, 12 * minute, 2 * minute); // 1,000 a minute
    const baseline = baselineRate(samples, 12 * minute, 2 * minute, 8 * minute); // 100 a minute
    expect(rateJumped(recent, baseline, 5)).toBe(true);
    expect(rateJumped(recent, baseline, 11)).toBe(false);
    expect(rateJumped(recent, 0, 5)).toBe(false);
    expect(rateJumped(recent, undefined, 5)).toBe(false);
  });

  it('parses durations', () => {
    expect(durationMs('15m')).toBe(900_000);
    expect(durationMs('90s')).toBe(90_000);
    expect(durationMs('1.5h')).toBe(5_400_000);
    expect(durationMs('250ms')).toBe(250);
    expect(durationMs('15')).toBeUndefined();
    expect(durationMs('0s')).toBeUndefined();
  });
});
