// Provider scorecard aggregation against hand-computed values: nearest-rank percentiles, rates, effective cost per million tokens.
import { describe, expect, it } from 'vitest';
import { percentile, providerScorecard, type ScorecardSample } from '../src/core/provider-scorecard.js';

function sample(fields: Partial<ScorecardSample>): ScorecardSample {
  return {
    provider: 'openai', modelVersion: 'gpt-4o-mini-2024-07-18', refused: false, failed: false, ttftMs: null, latencyMs: 0,
    inputTokens: 0, outputTokens: 0, costMicros: 0, inputCostMicros: 0, ...fields,
  };
}

describe('percentile (nearest rank)', () => {
  it('answers an observed value: sorted[ceil(p/100 * n) - 1]', () => {
    const values = [15, 20, 35, 40, 50];
    // The classic worked example: n = 5, p30 → rank ceil(1.5) = 2 → 20; p40 → rank 2 → 20; p50 → rank 3 → 35; p100 → 50.
    expect(percentile(values, 30)).toBe(20);
    expect(percentile(values, 40)).toBe(20);
    expect(percentile(values, 50)).toBe(35);
    expect(percentile(values, 100)).toBe(50);
    expect(percentile(values, 0)).toBe(15);
  });

  it('p95 of twenty values is the nineteenth; of ten, the tenth', () => {
    const twenty = Array.from({ length: 20 }, (_, index) => (index + 1) * 10);
    expect(percentile(twenty, 95)).toBe(190);
    expect(percentile(twenty, 50)).toBe(100);
    const ten = Array.from({ length: 10 }, (_, index) => index + 1);
    expect(percentile(ten, 95)).toBe(10);
    expect(percentile(ten, 50)).toBe(5);
  });

  it('refuses an empty list', () => {
    expect(() => percentile([], 50)).toThrow(RangeError);
  });
});

describe('providerScorecard', () => {
  it('counts requests, errors and refusals and takes percentiles over answered calls only', () => {
    const rows = providerScorecard([
      sample({ ttftMs: 100, latencyMs: 400 }),
      sample({ ttftMs: 300, latencyMs: 200 }),
      sample({ ttftMs: 200, latencyMs: 300 }),
      sample({ ttftMs: 50, latencyMs: 100 }),
      // A failure and a refusal count as requests but not in the latencies.
      sample({ failed: true, latencyMs: 9000 }),
      sample({ refused: true, latencyMs: 1 }),
    ]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      provider: 'openai', model_version: 'gpt-4o-mini-2024-07-18', requests: 6, errors: 1, refusals: 1,
      error_rate: 0.166667, refusal_rate: 0.166667,
      // TTFTs sorted 50, 100, 200, 300: p50 → rank 2 → 100; p95 → rank ceil(3.8) = 4 → 300.
      ttft_ms: { p50: 100, p95: 300 },
      // Latencies sorted 100, 200, 300, 400: p50 → 200; p95 → 400.
      latency_ms: { p50: 200, p95: 400 },
    });
  });

  it('computes what was paid per million input and output tokens', () => {
    const rows = providerScorecard([
      // 1,000 input tokens charged 150 micro-dollars and 500 output tokens 300: $0.15 and $0.60 per million.
      sample({ inputTokens: 1000, outputTokens: 500, costMicros: 450, inputCostMicros: 150 }),
      // 3,000 input tokens (cheaper: cached) 250 micro-dollars, 1,500 output tokens 900.
      sample({ inputTokens: 3000, outputTokens: 1500, costMicros: 1150, inputCostMicros: 250 }),
      // A model whose prices are gone counts in the totals but not in the per-token prices.
      sample({ inputTokens: 7000, outputTokens: 7000, costMicros: 99_999, inputCostMicros: null }),
    ]);
    expect(rows[0]).toMatchObject({
      input_tokens: 11_000, output_tokens: 9_000, cost_usd_micros: 101_599,
      // (150 + 250) / 4,000 = 0.1; (300 + 900) / 2,000 = 0.6.
      cost_per_million_input_usd: 0.1,
      cost_per_million_output_usd: 0.6,
    });
  });

  it('groups by provider and model version, in order, with nulls where nothing was measured', () => {
    const rows = providerScorecard([
      sample({ provider: 'openai', modelVersion: 'b', ttftMs: 10, latencyMs: 10 }),
      sample({ provider: 'anthropic', modelVersion: 'z', refused: true }),
      sample({ provider: 'openai', modelVersion: 'a', ttftMs: 20, latencyMs: 20 }),
    ]);
    expect(rows.map((row) => `${row.provider}/${row.model_version}`)).toEqual(['anthropic/z', 'openai/a', 'openai/b']);
    expect(rows[0]).toMatchObject({ requests: 1, refusals: 1, refusal_rate: 1, ttft_ms: null, latency_ms: null, cost_per_million_input_usd: null, cost_per_million_output_usd: null });
    expect(rows[2]).toMatchObject({ ttft_ms: { p50: 10, p95: 10 } });
  });
});
