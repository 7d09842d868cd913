// The benchmark's verdicts (bench/report.mjs): throughput targets from the median of per-round ratios, with rounds
// that other programs disturbed left out, so one disturbed round cannot decide a target.
import { describe, expect, it } from 'vitest';
// @ts-expect-error: plain JavaScript, no types
import { checkTargets } from '../bench/report.mjs';

interface Check { target: string; value: string; ok: boolean }

/** A measured run: requests per second over a 10 s window, and the CPU seconds other programs used meanwhile. */
const run = (name: string, requestsPerSecond: number, otherCpuSeconds: number) => ({
  scenario: { name }, result: { requestsPerSecond, windowMs: 10_000 }, cpu: { others: otherCpuSeconds },
});
const rows = [{ name: 'covenant', requestsPerSecond: 5000 }, { name: 'minimal', requestsPerSecond: 10_000 }];
const throughput = (checks: Check[]) => checks.find((check) => check.target.startsWith('Covenant throughput'))!;

describe('benchmark verdicts', () => {
  it('takes the median of the rounds’ ratios', () => {
    const rounds = new Map([
      ['covenant', [run('covenant', 4000, 0), run('covenant', 5000, 0), run('covenant', 6000, 0)]],
      ['minimal', [run('minimal', 10_000, 0), run('minimal', 10_000, 0), run('minimal', 10_000, 0)]],
    ]);
    const check = throughput(checkTargets(rows, 0, rounds, 2));
    expect(check.value).toBe('50%, median of 3 rounds (40%, 50%, 60%)');
    expect(check.ok).toBe(true);
  });

  it('leaves out a round in which other programs took more than 10% of the machine', () => {
    // Round 1's minimal proxy ran beside other work (11.2 CPU seconds in 10 s on 2 cores: 56%) and looked slow.
    const rounds = new Map([
      ['covenant', [run('covenant', 3700, 0.4), run('covenant', 4500, 0.2), run('covenant', 4700, 0.2)]],
      ['minimal', [run('minimal', 3300, 11.2), run('minimal', 10_000, 0.4), run('minimal', 10_000, 1)]],
    ]);
    const check = throughput(checkTargets(rows, 0, rounds, 2));
    expect(check.ok).toBe(false);
    expect(check.value).toBe('46%, median of 2 rounds (45%, 47%); left out: 112% (other programs took 56% of the machine)');
  });

  it('keeps every round when every round was disturbed, rather than decide on none', () => {
    const rounds = new Map([
      ['covenant', [run('covenant', 5000, 5), run('covenant', 5000, 5)]],
      ['minimal', [run('minimal', 10_000, 5), run('minimal', 10_000, 5)]],
    ]);
    expect(throughput(checkTargets(rows, 0, rounds, 2)).value).toBe('50%, median of 2 rounds (50%, 50%)');
  });
});
