// The config file's raw schema (step one of two): every field typed, unknown fields rejected.
import { z } from 'zod';
import { periods, type BudgetConfig, type Period } from '../core/budget-types.js';

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'letters, digits, "_", "." or "-", starting with a letter or digit');
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name');

export const periodSchema = z.enum(periods);

export const budgetSchema = z.strictObject({
  usd: z.number().positive().optional(),
  tokens: z.number().int().positive().optional(),
  period: periodSchema,
}).refine((budget) => (budget.usd === undefined) !== (budget.tokens === undefined), {
  message: 'a budget sets exactly one of "usd" or "tokens"',
});

export const alertsSchema = z.strictObject({
  thresholds: z.array(z.number().gt(0).lte(1)).min(1),
  webhook: z.url().optional(),
});

export const retentionSchema = z.strictObject({
  content: z.enum(['none', 'redacted', 'full']).default('none'),
  days: z.number().int().positive().optional(),
});

export const keySchema = z.strictObject({
  name,
  key_env: envName,
  models: z.array(z.string()).optional(),
  budgets: z.array(budgetSchema).optional(),
});

export const departmentSchema = z.strictObject({
  name,
  budgets: z.array(budgetSchema).optional(),
  user_budgets: z.array(budgetSchema).optional(),
  alerts: alertsSchema.optional(),
  retention: retentionSchema.optional(),
  keys: z.array(keySchema).default([]),
});

export const orgSchema = z.strictObject({
  name,
  timezone: z.string().optional(),
  budgets: z.array(budgetSchema).optional(),
  alerts: alertsSchema.optional(),
  departments: z.array(departmentSchema).default([]),
});

export const providerSchema = z.strictObject({
  name,
  type: z.enum(['openai', 'anthropic', 'gemini', 'openai-compatible', 'mock']),
  api_key_env: envName.optional(),
  base_url: z.url().optional(),
  timeout_ms: z.number().int().positive().optional(),
  headers: z.record(z.string(), z.string()).optional(),
  /**
   * openai and openai-compatible only: how POST /v1/responses reaches this provider, passed through to its own
   * /v1/responses (`native`, the default for openai) or translated to chat (`translated`, the default for the others).
   */
  responses_api: z.enum(['native', 'translated']).optional(),
  /** Mock only. */
  latency_ms: z.number().int().nonnegative().optional(),
  output_tokens: z.number().int().positive().optional(),
  token_delay_ms: z.number().int().nonnegative().optional(),
});

export const priceSchema = z.strictObject({
  input_per_mtok: z.number().nonnegative(),
  output_per_mtok: z.number().nonnegative(),
  cached_input_per_mtok: z.number().nonnegative().optional(),
  cache_write_per_mtok: z.number().nonnegative().optional(),
});

export const modelSchema = z.strictObject({
  alias: z.string().min(1),
  provider: name,
  version: z.string().min(1),
  price: priceSchema.optional(),
  max_output_tokens: z.number().int().positive().optional(),
  context_window: z.number().int().positive().optional(),
  type: z.enum(['chat', 'embedding']).optional(),
});

export const adminKeySchema = z.strictObject({
  name,
  key_env: envName,
  role: z.enum(['admin', 'auditor']).default('admin'),
  department: name.optional(),
});

export const serverSchema = z.strictObject({
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(4141),
  body_limit_bytes: z.number().int().positive().default(10 * 1024 * 1024),
  upstream_timeout_ms: z.number().int().positive().default(120_000),
  shutdown_grace_ms: z.number().int().positive().default(30_000),
});

export const budgetSettingsSchema = z.strictObject({
  min_output_tokens: z.number().int().positive().default(16),
  on_store_unavailable: z.enum(['fail_closed', 'local_cap']).default('fail_closed'),
  local_cap_usd: z.number().positive().default(1),
});

export const configSchema = z.strictObject({
  server: serverSchema.default(serverSchema.parse({})),
  store: z.string().default('sqlite:.covenant/covenant.db'),
  cache: z.string().optional(),
  budgets: budgetSettingsSchema.default(budgetSettingsSchema.parse({})),
  admin_keys: z.array(adminKeySchema).default([]),
  providers: z.array(providerSchema).default([]),
  models: z.array(modelSchema).default([]),
  org: orgSchema,
});

export type RawConfig = z.infer<typeof configSchema>;
export type { BudgetConfig, Period };
export type AlertsConfig = z.infer<typeof alertsSchema>;
export type RetentionConfig = z.infer<typeof retentionSchema>;

/** True when A and B are the same type: each assignable to the other, with the same fields (an optional extra one would pass the first test). */
type SameType<A, B> = [A, keyof A] extends [B, keyof B] ? ([B, keyof B] extends [A, keyof A] ? true : false) : false;
// The schema produces the core's budget types: this stops compiling if either side changes alone.
true satisfies SameType<z.infer<typeof budgetSchema>, BudgetConfig> & SameType<z.infer<typeof periodSchema>, Period>;
