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

/** A calendar date, `2027-06-30` (a YAML date is read as text by the loader's schema). */
const calendarDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date like 2027-06-30').refine((text) => !Number.isNaN(Date.parse(`${text}T00:00:00Z`)), 'a real calendar date');

/** What the provider agreed for a model alias: how long its version is kept, how much notice a change needs, what counts as drift. */
export const contractSchema = z.strictObject({
  /** The pinned version is served until this date (24 months, say). */
  support_until: calendarDate.optional(),
  /** Days of notice the provider owes before any change. */
  notice_days: z.number().int().nonnegative().optional(),
  /** A deprecation the provider announced for the pinned version: when it said so, and the day it ends. */
  deprecation: z.strictObject({ announced: calendarDate, sunset: calendarDate.optional() }).optional(),
  /** Warn when support or the sunset is this many days away or fewer (default 90). */
  horizon_days: z.number().int().positive().optional(),
  /** Material drift: what the golden-dataset runs and the live monitor compare against. */
  drift: z.strictObject({
    min_similarity: z.number().min(0).max(1).default(0.95),
    max_variance: z.number().nonnegative().default(0.15),
    max_safety_failures: z.number().min(0).default(0),
    window: durationSchema.default('24h'),
  }).optional(),
});

/** Shadow traffic to a staged candidate: a share of live calls is sent to it too, compared, never returned. */
export const shadowSchema = z.strictObject({
  /** Share of the alias's JSON chat calls mirrored to the candidate, 0 to 1. */
  share: z.number().min(0).max(1),
  /** The staging budget: shadow calls stop once they have cost this much (per candidate). */
  budget_usd: z.number().positive().default(1),
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
  contract: contractSchema.optional(),
  /** A new fingerprint or returned model id behind the pinned version: alert (the default), or block until acknowledged. */
  on_silent_change: z.enum(['alert', 'block']).optional(),
  /** New fingerprints are accepted during a version's first N calls (providers that rotate a few). */
  fingerprint_learning: z.number().int().nonnegative().optional(),
  /** On material drift: roll back to the last known-stable version, or alert only (the default). */
  on_drift: z.enum(['rollback', 'alert']).optional(),
  shadow: shadowSchema.optional(),
});

export const adminKeySchema = z.strictObject({
  name,
  key_env: envName,
  role: z.enum(['admin', 'auditor', 'finops', 'reviewer']).default('admin'),
  department: name.optional(),
});

/** An outcome name a decision may carry (approve, reject, refer, …). */
const outcomeName = z.string().trim().min(1).max(100);

/** Decision oversight of one AI system that assists decisions about people: human review, explanations, ADM class, bias and SLA monitors. */
export const systemSchema = z.strictObject({
  name,
  department: name,
  review: z.strictObject({
    /** Outcomes a person must sign off before the decision is final; adverse outcomes always are. Default: the adverse ones. */
    required_for: z.array(outcomeName).optional(),
    /** How long a review may take before it is overdue (and alerted once). */
    window: durationSchema.default('48h'),
    /** Outcomes that are adverse to the person decided about; default reject, deny, decline. */
    adverse: z.array(outcomeName).min(1).optional(),
  }).default({ window: '48h' }),
  explanation: z.strictObject({
    required: z.boolean().default(false),
    /** Local accuracy: |sum of attributions - (score - base_value)| must not exceed this. */
    tolerance: z.number().nonnegative().default(0.01),
  }).default({ required: false, tolerance: 0.01 }),
  /** Automated decision-making class: no person in the loop for final decisions, or a person substantially involved. */
  adm: z.enum(['solely_automated', 'substantially_assisted']).default('substantially_assisted'),
  fairness: z.strictObject({
    /** The protected attribute whose groups are compared (sent in a decision's `protected` object). */
    attribute: z.string().min(1),
    /** The four-fifths rule is 0.8: a group selected at less than this share of the most-selected group's rate breaches. */
    min_impact_ratio: z.number().gt(0).lte(1).default(0.8),
    window: durationSchema.default('30d'),
    /** Groups with fewer final decisions in the window are reported, not compared. */
    min_group_size: z.number().int().positive().default(30),
    on_breach: z.enum(['suspend', 'alert']).default('suspend'),
  }).optional(),
  sla: z.strictObject({
    min_precision: z.number().min(0).max(1).optional(),
    min_recall: z.number().min(0).max(1).optional(),
    min_f1: z.number().min(0).max(1).optional(),
    min_accuracy: z.number().min(0).max(1).optional(),
    max_hallucination_rate: z.number().min(0).max(1).optional(),
    window: durationSchema.default('30d'),
    /** No metric is judged on fewer labelled decisions than this. */
    min_samples: z.number().int().positive().default(20),
    /** Where a breach posts its evidence (the retraining trigger). */
    retrain_webhook: z.url().optional(),
  }).optional(),
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
  systems: z.array(systemSchema).default([]),
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
export type SystemConfig = z.infer<typeof systemSchema>;
export type ContractConfig = z.infer<typeof contractSchema>;
export type ModelConfig = z.infer<typeof modelSchema>;

/** True when A and B are the same type: each assignable to the other, with the same fields (an optional extra one would pass the first test). */
type SameType<A, B> = [A, keyof A] extends [B, keyof B] ? ([B, keyof B] extends [A, keyof A] ? true : false) : false;
// The schema produces the core's budget types: this stops compiling if either side changes alone.
true satisfies SameType<z.infer<typeof budgetSchema>, BudgetConfig> & SameType<z.infer<typeof periodSchema>, Period>;
