// Step two of config: a validated file becomes ready-to-use settings (secrets read from the environment, prices resolved, defaults filled).
import { SecretValue } from './secret-value.js';
import { hash } from 'node:crypto';
import type { ModelPricing } from '../core/pricing.js';
import { dollarsToMicros, pricePerMtokToMicros } from '../core/money.js';
import { builtInPricing } from '../core/price-table.js';
import type { TagPolicy } from '../core/tags.js';
import type { ProviderSettings, ProviderType } from '../providers/types.js';
import type { AgentConfig, AlertsConfig, BudgetConfig, KeyGuardsConfig, LimitsConfig, RateLimitConfig, RawConfig, RetentionConfig, TelemetryConfig } from './schema.js';
import type { LoadedConfig } from './load.js';
import { resolveSystems, type ResolvedSystem } from './systems.js';

export interface ResolvedModel {
  alias: string;
  provider: string;
  providerType: ProviderType;
  /** The exact upstream model id that is sent. */
  version: string;
  pricing: ModelPricing;
  priceSource: 'config' | 'built-in';
  maxOutputTokens: number;
  type: 'chat' | 'embedding';
  /** The alias's caps on one request; null when it has none. */
  limits: ResolvedLimits | null;
}

/** Caps on one request (null: no cap of that kind), and what they belong to, for the refusal's message. */
export interface ResolvedLimits {
  owner: string;
  maxPromptTokens: number | null;
  maxRequestMicros: number | null;
}

/** A rate limit; 0 means no limit of that kind. */
export interface ResolvedRateLimit {
  rpm: number;
  tpm: number;
  concurrent: number;
}

/** A key's guards and routing, ready to use (a config key's from the config, an admin-API key's from its stored record). */
export interface KeyPolicy {
  rateLimit: ResolvedRateLimit | null;
  limits: ResolvedLimits | null;
  environment: 'production' | 'staging';
  /** Every request of the key is answered by the built-in mock provider. */
  routeToMock: boolean;
}

export interface ResolvedDepartment {
  name: string;
  budgets: BudgetConfig[];
  userBudgets: BudgetConfig[];
  alerts: AlertsConfig | undefined;
  retention: RetentionConfig;
  rateLimit: ResolvedRateLimit | null;
  /** Each end user's own rate limit. */
  userRateLimit: ResolvedRateLimit | null;
  limits: ResolvedLimits | null;
  /** The agent-loop breaker's policy for this department's keys that set none of their own. */
  agent: AgentPolicy | undefined;
}

/** The agent-loop breaker's policy, ready to use: money in micro-dollars, durations in milliseconds, null for no limit. */
export interface AgentPolicy {
  maxSteps: number | null;
  maxSessionMicros: number | null;
  maxIdenticalRequests: number | null;
  identicalWindowMs: number;
  maxRepeatedToolCalls: number | null;
  maxDurationMs: number | null;
  /** How long a session's counters live without a request. */
  idleMs: number;
  webhook: string | undefined;
}

export interface ConfigKey {
  department: string;
  name: string;
  /** The key's secret (stored only as a salted digest; kept here so the gateway can index it). */
  secret: SecretValue;
  models: string[] | null;
  budgets: BudgetConfig[];
  /** The key's own agent policy; undefined: the department's. */
  agent: AgentPolicy | undefined;
  policy: KeyPolicy;
}

export interface AdminKey {
  name: string;
  /** Never stored; the gateway indexes it in memory (gateway/secret-index.ts). */
  secret: SecretValue;
  role: 'admin' | 'auditor' | 'finops' | 'reviewer';
  department: string | null;
}

export type StoreLocation = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

export interface ResolvedConfig {
  file: string | null;
  version: string;
  raw: RawConfig;
  server: RawConfig['server'];
  /** Trace export; null when not configured (no spans are made). */
  telemetry: TelemetryConfig | null;
  store: StoreLocation;
  cache: string | null;
  budgetSettings: RawConfig['budgets'];
  adminKeys: AdminKey[];
  providers: Map<string, ProviderSettings>;
  models: Map<string, ResolvedModel>;
  org: { name: string; timeZone: string; budgets: BudgetConfig[]; alerts: AlertsConfig | undefined };
  departments: Map<string, ResolvedDepartment>;
  /** Cost attribution tags a request may carry. */
  tags: TagPolicy;
  configKeys: ConfigKey[];
  /** Config keys' guards and routing, by `department/name` (a KeyRecord of source "config" finds its own here). */
  keyPolicies: Map<string, KeyPolicy>;
  streams: { onClientAbort: 'drain' | 'cancel' };
  /** AI systems under decision oversight (human review, explanations, bias and SLA monitors), by name. */
  systems: Map<string, ResolvedSystem>;
  /** Things that work but deserve attention (e.g. an unset key_env). */
  warnings: string[];
}

/** The unsalted SHA-256 older stores hold for a key secret; new records keep a salted digest (core/secret-digest.ts). */
export function hashSecret(secret: string): string {
  return hash('sha256', secret, 'hex');
}

const defaultMaxOutputTokens = 4096;

const durationUnits: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds of a duration the schema accepted (`45s`, `30m`, `2h`, `1d`). */
export function durationMs(text: string): number {
  const match = /^([0-9]+)(s|m|h|d)$/.exec(text);
  if (!match) throw new Error(`"${text}" is not a duration like 45s, 30m, 2h or 1d`);
  return Number(match[1]) * durationUnits[match[2]];
}

function agentPolicy(agent: AgentConfig | undefined, alerts: AlertsConfig | undefined): AgentPolicy | undefined {
  if (!agent) return undefined;
  return {
    maxSteps: agent.max_steps ?? null,
    maxSessionMicros: agent.max_session_usd === undefined ? null : dollarsToMicros(agent.max_session_usd),
    maxIdenticalRequests: agent.max_identical_requests ?? null,
    identicalWindowMs: durationMs(agent.identical_window ?? '5m'),
    maxRepeatedToolCalls: agent.max_repeated_tool_calls ?? null,
    maxDurationMs: agent.max_duration === undefined ? null : durationMs(agent.max_duration),
    idleMs: durationMs(agent.idle_timeout ?? '1h'),
    webhook: agent.webhook ?? alerts?.webhook,
  };
}

function resolveRateLimit(limit: RateLimitConfig | undefined): ResolvedRateLimit | null {
  return limit === undefined ? null : { rpm: limit.rpm ?? 0, tpm: limit.tpm ?? 0, concurrent: limit.concurrent ?? 0 };
}

function resolveLimits(limits: LimitsConfig | undefined, owner: string): ResolvedLimits | null {
  if (limits === undefined) return null;
  return {
    owner,
    maxPromptTokens: limits.max_prompt_tokens ?? null,
    maxRequestMicros: limits.max_request_usd === undefined ? null : dollarsToMicros(limits.max_request_usd),
  };
}

/** A key's guards and routing, ready to use (a config key's, or one made by the admin API). */
export function keyPolicy(guards: KeyGuardsConfig, department: string, name: string): KeyPolicy {
  return {
    rateLimit: resolveRateLimit(guards.rate_limit),
    limits: resolveLimits(guards.limits, `key "${department}/${name}"`),
    environment: guards.environment ?? 'production',
    routeToMock: guards.route === 'mock',
  };
}

/** The agent-loop breaker's policy a key sets itself (undefined: its department's), its webhook defaulting to the department's alerts. */
export function keyAgentPolicy(guards: KeyGuardsConfig, department: ResolvedDepartment): AgentPolicy | undefined {
  return agentPolicy(guards.agent, department.alerts);
}

/** The policy lookup key of a config key. */
export function keyPolicyName(department: string, name: string): string {
  return `${department}/${name}`;
}
const mockPricing: NonNullable<RawConfig['models'][number]['price']> = { input_per_mtok: 0.15, output_per_mtok: 0.6 };

export function resolveConfig(loaded: LoadedConfig, environment: Record<string, string | undefined>): ResolvedConfig {
  const raw = loaded.raw;
  const warnings: string[] = [];
  const secret = (envName: string, what: string): string | undefined => {
    const value = environment[envName];
    if (!value) warnings.push(`${what}: environment variable ${envName} is not set, so it is disabled`);
    return value || undefined;
  };

  const providers = new Map<string, ProviderSettings>();
  for (const provider of raw.providers) {
    const apiKey = provider.api_key_env ? environment[provider.api_key_env] : undefined;
    if (provider.api_key_env && !apiKey) {
      warnings.push(`provider "${provider.name}": environment variable ${provider.api_key_env} is not set; calls to it will fail`);
    }
    providers.set(provider.name, {
      name: provider.name,
      type: provider.type,
      baseUrl: provider.base_url,
      apiKey,
      timeoutMs: provider.timeout_ms ?? raw.server.upstream_timeout_ms,
      headers: provider.headers,
      responsesApi: provider.responses_api ?? (provider.type === 'openai' ? 'native' : 'translated'),
      mock: provider.type === 'mock'
        ? { latencyMs: provider.latency_ms ?? 0, outputTokens: provider.output_tokens ?? 32, tokenDelayMs: provider.token_delay_ms ?? 0 }
        : undefined,
    });
  }

  const models = new Map<string, ResolvedModel>();
  for (const model of raw.models) {
    const provider = providers.get(model.provider)!;
    let pricing: ModelPricing | undefined;
    let priceSource: ResolvedModel['priceSource'] = 'config';
    const price = model.price ?? (provider.type === 'mock' ? mockPricing : undefined);
    if (price) {
      const input = pricePerMtokToMicros(price.input_per_mtok);
      pricing = {
        inputMicrosPerMtok: input,
        outputMicrosPerMtok: pricePerMtokToMicros(price.output_per_mtok),
        cachedInputMicrosPerMtok: price.cached_input_per_mtok === undefined ? input : pricePerMtokToMicros(price.cached_input_per_mtok),
        cacheWriteMicrosPerMtok: price.cache_write_per_mtok === undefined ? input : pricePerMtokToMicros(price.cache_write_per_mtok),
      };
    } else {
      pricing = builtInPricing(provider.type, model.version);
      priceSource = 'built-in';
    }
    if (!pricing) {
      throw new Error(`model "${model.alias}": the built-in price table does not know "${model.version}"; add price: { input_per_mtok, output_per_mtok }`);
    }
    models.set(model.alias, {
      alias: model.alias,
      provider: model.provider,
      providerType: provider.type,
      version: model.version,
      pricing,
      priceSource,
      maxOutputTokens: model.max_output_tokens ?? defaultMaxOutputTokens,
      type: model.type ?? (/embed/i.test(model.version) ? 'embedding' : 'chat'),
      limits: resolveLimits(model.limits, `model "${model.alias}"`),
    });
  }

  const departments = new Map<string, ResolvedDepartment>();
  const configKeys: ConfigKey[] = [];
  const keyPolicies = new Map<string, KeyPolicy>();
  for (const department of raw.org.departments) {
    const alerts = department.alerts ?? raw.org.alerts;
    departments.set(department.name, {
      name: department.name,
      budgets: department.budgets ?? [],
      userBudgets: department.user_budgets ?? [],
      alerts,
      retention: department.retention ?? { content: 'none' },
      agent: agentPolicy(department.agent, alerts),
      rateLimit: resolveRateLimit(department.rate_limit),
      userRateLimit: resolveRateLimit(department.user_rate_limit),
      limits: resolveLimits(department.limits, `department "${department.name}"`),
    });
    for (const key of department.keys) {
      const policy = keyPolicy(key, department.name, key.name);
      keyPolicies.set(keyPolicyName(department.name, key.name), policy);
      const value = secret(key.key_env, `key "${department.name}/${key.name}"`);
      if (!value) continue;
      configKeys.push({
        department: department.name,
        name: key.name,
        secret: new SecretValue(value),
        models: key.models ?? null,
        budgets: key.budgets ?? [],
        agent: agentPolicy(key.agent, alerts),
        policy,
      });
    }
  }

  const adminKeys: AdminKey[] = [];
  for (const key of raw.admin_keys) {
    const value = secret(key.key_env, `admin key "${key.name}"`);
    if (!value) continue;
    adminKeys.push({ name: key.name, secret: new SecretValue(value), role: key.role, department: key.department ?? null });
  }

  const store: StoreLocation = raw.store.startsWith('sqlite:')
    ? { kind: 'sqlite', path: raw.store.slice('sqlite:'.length) }
    : { kind: 'postgres', url: raw.store };

  return {
    file: loaded.file,
    version: loaded.version,
    raw,
    server: raw.server,
    telemetry: raw.telemetry ?? null,
    store,
    cache: raw.cache ?? null,
    budgetSettings: raw.budgets,
    adminKeys,
    providers,
    models,
    org: { name: raw.org.name, timeZone: raw.org.timezone ?? 'UTC', budgets: raw.org.budgets ?? [], alerts: raw.org.alerts },
    departments,
    tags: { keys: new Set(raw.tags.keys), maxValueLength: raw.tags.max_value_length, maxCount: raw.tags.max_count },
    configKeys,
    keyPolicies,
    streams: { onClientAbort: raw.streams.on_client_abort },
    systems: resolveSystems(raw.systems),
    warnings,
  };
}
