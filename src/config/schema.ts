// The config file's raw schema (step one of two): every field typed, unknown fields rejected.
import { z } from 'zod';
import { periods, type BudgetConfig, type Period } from '../core/budget-types.js';
import { durationMs } from '../core/burn-rate.js';

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

const duration = z.string().refine((text) => durationMs(text) !== undefined, 'a duration such as "90s", "15m" or "1h"');

export const burnRateSchema = z.strictObject({
  /** The recent window whose spend rate projects exhaustion and is compared with the baseline. */
  window: duration.default('15m'),
  /** Alert when the recent rate is at least this many times the trailing baseline. */
  jump: z.number().gt(1).default(5),
  /** The span before the window that the baseline rate is measured over; default four windows. */
  baseline: duration.optional(),
});

export const alertsSchema = z.strictObject({
  thresholds: z.array(z.number().gt(0).lte(1)).min(1),
  webhook: z.url().optional(),
  /** The webhook body: Covenant's JSON, or Slack's incoming-webhook `{text, blocks}`. */
  format: z.enum(['json', 'slack']).optional(),
  burn_rate: burnRateSchema.optional(),
});

export const retentionSchema = z.strictObject({
  content: z.enum(['none', 'redacted', 'full']).default('none'),
  days: z.number().int().positive().optional(),
});

/** A span of time written as a whole number and a unit: `45s`, `30m`, `2h`, `1d`. */
export const durationSchema = z.string().regex(/^[1-9][0-9]*(s|m|h|d)$/, 'a duration like 45s, 30m, 2h or 1d');

/** The agent-loop breaker's policy for the sessions of a key or a department; at least one limit. */
export const agentSchema = z.strictObject({
  max_steps: z.number().int().positive().optional(),
  max_session_usd: z.number().positive().optional(),
  max_identical_requests: z.number().int().positive().optional(),
  /** The window in which identical request bodies are counted (default 5m). */
  identical_window: durationSchema.optional(),
  max_repeated_tool_calls: z.number().int().positive().optional(),
  max_duration: durationSchema.optional(),
  /** A session's counters are forgotten after this long without a request (default 1h); suspensions are kept. */
  idle_timeout: durationSchema.optional(),
  /** Where a suspension is posted; default: the department's (or org's) alerts webhook. */
  webhook: z.url().optional(),
}).refine((agent) => agent.max_steps !== undefined || agent.max_session_usd !== undefined || agent.max_identical_requests !== undefined
  || agent.max_repeated_tool_calls !== undefined || agent.max_duration !== undefined, {
  message: 'an agent policy sets at least one of max_steps, max_session_usd, max_identical_requests, max_repeated_tool_calls, max_duration',
});

/** Requests per minute, tokens per minute (the reserved worst case, corrected at settle), requests in flight. */
export const rateLimitSchema = z.strictObject({
  rpm: z.number().int().positive().optional(),
  tpm: z.number().int().positive().optional(),
  concurrent: z.number().int().positive().optional(),
}).refine((limit) => limit.rpm !== undefined || limit.tpm !== undefined || limit.concurrent !== undefined, {
  message: 'a rate limit sets at least one of "rpm", "tpm" or "concurrent"',
});

/** Caps on one request: its prompt's size and its worst-case cost. */
export const limitsSchema = z.strictObject({
  max_prompt_tokens: z.number().int().positive().optional(),
  max_request_usd: z.number().positive().optional(),
}).refine((limits) => limits.max_prompt_tokens !== undefined || limits.max_request_usd !== undefined, {
  message: 'limits sets at least one of "max_prompt_tokens" or "max_request_usd"',
});

export const keySchema = z.strictObject({
  name,
  key_env: envName,
  models: z.array(z.string()).optional(),
  budgets: z.array(budgetSchema).optional(),
  agent: agentSchema.optional(),
  rate_limit: rateLimitSchema.optional(),
  limits: limitsSchema.optional(),
  environment: z.enum(['production', 'staging']).optional(),
  /** `mock`: every request of the key is answered by the built-in mock provider (staging keys only). */
  route: z.enum(['mock']).optional(),
});

/** The guards and routing a key may set, beyond its models and budgets: config keys and keys made by the admin API share them. */
export const keyGuardsSchema = keySchema.pick({ agent: true, rate_limit: true, limits: true, environment: true, route: true });

export const departmentSchema = z.strictObject({
  name,
  budgets: z.array(budgetSchema).optional(),
  user_budgets: z.array(budgetSchema).optional(),
  rate_limit: rateLimitSchema.optional(),
  /** Each end user of the department under its own rate limit (as user_budgets are budgets per user). */
  user_rate_limit: rateLimitSchema.optional(),
  limits: limitsSchema.optional(),
  alerts: alertsSchema.optional(),
  retention: retentionSchema.optional(),
  agent: agentSchema.optional(),
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
  limits: limitsSchema.optional(),
});

export const adminKeySchema = z.strictObject({
  name,
  key_env: envName,
  role: z.enum(['admin', 'auditor', 'finops']).default('admin'),
  department: name.optional(),
});

export const serverSchema = z.strictObject({
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(4141),
  body_limit_bytes: z.number().int().positive().default(10 * 1024 * 1024),
  upstream_timeout_ms: z.number().int().positive().default(120_000),
  shutdown_grace_ms: z.number().int().positive().default(30_000),
  // Input limits (README: Security): each bounds what one client can make the gateway hold or wait for.
  header_limit_bytes: z.number().int().min(1024).max(1024 * 1024).default(16 * 1024),
  max_json_depth: z.number().int().min(2).max(10_000).default(64),
  max_connections_per_client: z.number().int().nonnegative().default(1024),
  headers_timeout_ms: z.number().int().positive().default(20_000),
  request_timeout_ms: z.number().int().positive().default(60_000),
  keep_alive_timeout_ms: z.number().int().positive().default(72_000),
  idle_timeout_ms: z.number().int().nonnegative().default(300_000),
});

export const budgetSettingsSchema = z.strictObject({
  min_output_tokens: z.number().int().positive().default(16),
  on_store_unavailable: z.enum(['fail_closed', 'local_cap']).default('fail_closed'),
  local_cap_usd: z.number().positive().default(1),
});

/** Cost attribution tags: only declared keys are accepted, so the tag space (and every report grouped by it) stays bounded. */
export const tagsSchema = z.strictObject({
  keys: z.array(name).default([]),
  max_value_length: z.number().int().positive().max(1024).default(64),
  max_count: z.number().int().positive().max(64).default(10),
});

/** OpenTelemetry trace export over OTLP/HTTP (JSON); absent: no spans are made at all. */
export const telemetrySchema = z.strictObject({
  /** The collector's OTLP/HTTP address; `/v1/traces` is added unless the path already ends with it. */
  otlp_endpoint: z.string().url(),
  service_name: z.string().min(1).default('covenant'),
  /** Share of traces started here that are recorded (a client's sampled flag is followed). */
  sample_ratio: z.number().min(0).max(1).default(1),
  /** Spans waiting for export at most; more are dropped (and counted), never waited for. */
  max_queue_size: z.number().int().positive().default(2048),
  /** How often queued spans are sent (sooner when a full batch is waiting). */
  export_interval_ms: z.number().int().positive().default(5000),
  /** An export that takes longer is abandoned (its spans counted as dropped). */
  export_timeout_ms: z.number().int().positive().default(10_000),
});

export const streamsSchema = z.strictObject({
  /** drain: read a stream to its end after the client leaves and settle it exactly; cancel: stop the upstream at once. */
  on_client_abort: z.enum(['drain', 'cancel']).default('drain'),
});

export const configSchema = z.strictObject({
  server: serverSchema.default(serverSchema.parse({})),
  store: z.string().default('sqlite:.covenant/covenant.db'),
  cache: z.string().optional(),
  budgets: budgetSettingsSchema.default(budgetSettingsSchema.parse({})),
  streams: streamsSchema.default(streamsSchema.parse({})),
  admin_keys: z.array(adminKeySchema).default([]),
  providers: z.array(providerSchema).default([]),
  models: z.array(modelSchema).default([]),
  org: orgSchema,
  tags: tagsSchema.default(tagsSchema.parse({})),
  telemetry: telemetrySchema.optional(),
});

export type RawConfig = z.infer<typeof configSchema>;
export type { BudgetConfig, Period };
export type AlertsConfig = z.infer<typeof alertsSchema>;
export type BurnRateConfig = z.infer<typeof burnRateSchema>;
export type RetentionConfig = z.infer<typeof retentionSchema>;
export type TagsConfig = z.infer<typeof tagsSchema>;
export type TelemetryConfig = z.infer<typeof telemetrySchema>;
export type AgentConfig = z.infer<typeof agentSchema>;
export type KeyGuardsConfig = z.infer<typeof keyGuardsSchema>;
export type RateLimitConfig = z.infer<typeof rateLimitSchema>;
export type LimitsConfig = z.infer<typeof limitsSchema>;

/** True when A and B are the same type: each assignable to the other, with the same fields (an optional extra one would pass the first test). */
type SameType<A, B> = [A, keyof A] extends [B, keyof B] ? ([B, keyof B] extends [A, keyof A] ? true : false) : false;
// The schema produces the core's budget types: this stops compiling if either side changes alone.
true satisfies SameType<z.infer<typeof budgetSchema>, BudgetConfig> & SameType<z.infer<typeof periodSchema>, Period>;
