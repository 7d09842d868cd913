// The baseline file a golden run compares against: the suite's answers, latencies and token counts as a model gave them.
import { z } from 'zod';

/** One answer to one suite item. */
export const sampleSchema = z.object({
  output: z.string(),
  /** Milliseconds from sending the request to its whole answer, measured by the CLI. */
  latency_ms: z.number().nonnegative(),
  output_tokens: z.number().int().nonnegative(),
  input_tokens: z.number().int().nonnegative(),
  /** The model id the answer named (the upstream version that served it). */
  model: z.string().nullable(),
  system_fingerprint: z.string().nullable(),
  refused: z.boolean(),
  cost_usd_micros: z.number().int().nonnegative(),
});

export type Sample = z.infer<typeof sampleSchema>;

export const baselineItemSchema = z.object({
  id: z.string(),
  safety: z.enum(['must_refuse', 'must_comply']).nullable(),
  expected: z.string().nullable(),
  tags: z.array(z.string()),
  samples: z.array(sampleSchema).min(1),
});

export type BaselineItem = z.infer<typeof baselineItemSchema>;

export const baselineSchema = z.object({
  format: z.literal('covenant-drift-baseline'),
  format_version: z.literal(1),
  created_at: z.string(),
  model: z.string(),
  /** The registry version asked for with --version (x-covenant-model-version); null: the alias's current one. */
  requested_version: z.string().nullable(),
  suite: z.object({ file: z.string(), sha256: z.string(), items: z.number().int() }),
  repeat: z.number().int().positive(),
  key: z.string(),
  /** Upstream model ids and system fingerprints the answers named. */
  versions_seen: z.array(z.string()),
  fingerprints_seen: z.array(z.string()),
  cost_usd_micros: z.number().int().nonnegative(),
  items: z.array(baselineItemSchema).min(1),
});

export type Baseline = z.infer<typeof baselineSchema>;

/** Distinct non-null values, sorted. */
export function distinct(values: readonly (string | null)[]): string[] {
  return [...new Set(values.filter((value): value is string => value !== null))].sort();
}
