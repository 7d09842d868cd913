// Step two of config: a validated file becomes ready-to-use settings (secrets read from the environment, prices resolved, defaults filled).
import { hash } from 'node:crypto';
import type { ModelPricing } from '../core/pricing.js';
import { pricePerMtokToMicros } from '../core/money.js';
import { builtInPricing } from '../core/price-table.js';
import type { ProviderSettings, ProviderType } from '../providers/types.js';
import type { AlertsConfig, BudgetConfig, RawConfig, RetentionConfig } from './schema.js';
import type { LoadedConfig } from './load.js';

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
}

export interface ResolvedDepartment {
  name: string;
  budgets: BudgetConfig[];
  userBudgets: BudgetConfig[];
  alerts: AlertsConfig | undefined;
  retention: RetentionConfig;
}

export interface ConfigKey {
  department: string;
  name: string;
  secretHash: string;
  models: string[] | null;
  budgets: BudgetConfig[];
}

export interface AdminKey {
  name: string;
  secretHash: string;
  role: 'admin' | 'auditor';
  department: string | null;
}

export type StoreLocation = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

export interface ResolvedConfig {
  file: string | null;
  version: string;
  raw: RawConfig;
  server: RawConfig['server'];
  store: StoreLocation;
  cache: string | null;
  budgetSettings: RawConfig['budgets'];
  adminKeys: AdminKey[];
  providers: Map<string, ProviderSettings>;
  models: Map<string, ResolvedModel>;
  org: { name: string; timeZone: string; budgets: BudgetConfig[]; alerts: AlertsConfig | undefined };
  departments: Map<string, ResolvedDepartment>;
  configKeys: ConfigKey[];
  /** Things that work but deserve attention (e.g. an unset key_env). */
  warnings: string[];
}

/** Hash of an API key secret, as stored (the secret itself is never stored). */
export function hashSecret(secret: string): string {
  return hash('sha256', secret, 'hex');
}

const defaultMaxOutputTokens = 4096;
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
    });
  }

  const departments = new Map<string, ResolvedDepartment>();
  const configKeys: ConfigKey[] = [];
  for (const department of raw.org.departments) {
    departments.set(department.name, {
      name: department.name,
      budgets: department.budgets ?? [],
      userBudgets: department.user_budgets ?? [],
      alerts: department.alerts ?? raw.org.alerts,
      retention: department.retention ?? { content: 'none' },
    });
    for (const key of department.keys) {
      const value = secret(key.key_env, `key "${department.name}/${key.name}"`);
      if (!value) continue;
      configKeys.push({
        department: department.name,
        name: key.name,
        secretHash: hashSecret(value),
        models: key.models ?? null,
        budgets: key.budgets ?? [],
      });
    }
  }

  const adminKeys: AdminKey[] = [];
  for (const key of raw.admin_keys) {
    const value = secret(key.key_env, `admin key "${key.name}"`);
    if (!value) continue;
    adminKeys.push({ name: key.name, secretHash: hashSecret(value), role: key.role, department: key.department ?? null });
  }

  const store: StoreLocation = raw.store.startsWith('sqlite:')
    ? { kind: 'sqlite', path: raw.store.slice('sqlite:'.length) }
    : { kind: 'postgres', url: raw.store };

  return {
    file: loaded.file,
    version: loaded.version,
    raw,
    server: raw.server,
    store,
    cache: raw.cache ?? null,
    budgetSettings: raw.budgets,
    adminKeys,
    providers,
    models,
    org: { name: raw.org.name, timeZone: raw.org.timezone ?? 'UTC', budgets: raw.org.budgets ?? [], alerts: raw.org.alerts },
    departments,
    configKeys,
    warnings,
  };
}
