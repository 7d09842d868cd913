// Provider scorecards: per provider and model version, request counts, error and refusal rates, latency percentiles and effective cost per token.

/** One inference as the scorecard reads it (from a ledger entry). */
export interface ScorecardSample {
  provider: string;
  modelVersion: string;
  /** A policy refused it before the provider was called. */
  refused: boolean;
  /** The provider failed, timed out, or broke off its stream. */
  failed: boolean;
  /** Time to first output; null when there was none (embeddings, failures). */
  ttftMs: number | null;
  latencyMs: number;
  inputTokens: number;
  outputTokens: number;
  costMicros: number;
  /** The input tokens' share of the cost at the model's prices; null when its prices are no longer known. */
  inputCostMicros: number | null;
}

export interface Percentiles {
  p50: number;
  p95: number;
}

export interface ScorecardRow {
  provider: string;
  model_version: string;
  requests: number;
  errors: number;
  refusals: number;
  error_rate: number;
  refusal_rate: number;
  /** Over answered calls only (refusals and failures would skew it); null when there were none. */
  ttft_ms: Percentiles | null;
  latency_ms: Percentiles | null;
  input_tokens: number;
  output_tokens: number;
  cost_usd_micros: number;
  /** What was paid per million tokens: cost over tokens, from calls whose prices are known; null with no such tokens. */
  cost_per_million_input_usd: number | null;
  cost_per_million_output_usd: number | null;
}

/** The scorecard's percentile method, stated once: nearest rank. */
export const percentileMethod = 'nearest-rank: the smallest value with at least p% of the values at or below it (sorted[ceil(p/100 * n) - 1])';

/**
 * Nearest-rank percentile of values sorted ascending (no interpolation: the answer is always an observed value).
 * @example percentile([10, 20, 30, 40], 50) === 20
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError('percentile of no values');
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

function percentiles(values: number[]): Percentiles | null {
  if (values.length === 0) return null;
  values.sort((a, b) => a - b);
  return { p50: percentile(values, 50), p95: percentile(values, 95) };
}

/** Rounded to millionths: rates and per-token prices are reported, never summed. */
function round6(value: number): number {
  return Math.round(value * 1_000_000) / 1_000_000;
}

interface Accumulator {
  provider: string;
  modelVersion: string;
  requests: number;
  errors: number;
  refusals: number;
  ttft: number[];
  latency: number[];
  inputTokens: number;
  outputTokens: number;
  costMicros: number;
  pricedInputTokens: number;
  pricedOutputTokens: number;
  inputCostMicros: number;
  outputCostMicros: number;
}

/** One row per provider and model version, ordered by provider then version. */
export function providerScorecard(samples: Iterable<ScorecardSample>): ScorecardRow[] {
  const groups = new Map<string, Accumulator>();
  for (const sample of samples) {
    const id = `${sample.provider}\u0000${sample.modelVersion}`;
    let group = groups.get(id);
    if (!group) {
      group = {
        provider: sample.provider, modelVersion: sample.modelVersion, requests: 0, errors: 0, refusals: 0, ttft: [], latency: [],
        inputTokens: 0, outputTokens: 0, costMicros: 0, pricedInputTokens: 0, pricedOutputTokens: 0, inputCostMicros: 0, outputCostMicros: 0,
      };
      groups.set(id, group);
    }
    group.requests += 1;
    if (sample.refused) {
      group.refusals += 1;
      continue;
    }
    if (sample.failed) group.errors += 1;
    else {
      group.latency.push(sample.latencyMs);
      if (sample.ttftMs !== null) group.ttft.push(sample.ttftMs);
    }
    group.inputTokens += sample.inputTokens;
    group.outputTokens += sample.outputTokens;
    group.costMicros += sample.costMicros;
    if (sample.inputCostMicros !== null) {
      // The output's share is the rest of what was charged (it carries any rounding up of the total).
      const input = Math.min(sample.inputCostMicros, sample.costMicros);
      group.pricedInputTokens += sample.inputTokens;
      group.pricedOutputTokens += sample.outputTokens;
      group.inputCostMicros += input;
      group.outputCostMicros += sample.costMicros - input;
    }
  }
  const rows = [...groups.values()].map((group): ScorecardRow => ({
    provider: group.provider,
    model_version: group.modelVersion,
    requests: group.requests,
    errors: group.errors,
    refusals: group.refusals,
    error_rate: round6(group.errors / group.requests),
    refusal_rate: round6(group.refusals / group.requests),
    ttft_ms: percentiles(group.ttft),
    latency_ms: percentiles(group.latency),
    input_tokens: group.inputTokens,
    output_tokens: group.outputTokens,
    cost_usd_micros: group.costMicros,
    // Micro-dollars per token are dollars per million tokens.
    cost_per_million_input_usd: group.pricedInputTokens === 0 ? null : round6(group.inputCostMicros / group.pricedInputTokens),
    cost_per_million_output_usd: group.pricedOutputTokens === 0 ? null : round6(group.outputCostMicros / group.pricedOutputTokens),
  }));
  return rows.sort((a, b) => (a.provider === b.provider ? compare(a.model_version, b.model_version) : compare(a.provider, b.provider)));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
