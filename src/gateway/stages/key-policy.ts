// A key's guards and routing (a config key's from the config, an admin-API key's from its record), cached per key.
import { keyAgentPolicy, keyPolicy, keyPolicyName, type AgentPolicy, type KeyPolicy, type ResolvedConfig } from '../../config/resolve.js';
import type { KeyRecord } from '../../stores/records.js';

/**
 * Whether any config key (or any of `apiKeys`, the admin-API keys' policies) sets a guard or routing: without any,
 * the stages are left out.
 */
export function usesKeyPolicies(config: ResolvedConfig, has: (policy: KeyPolicy) => boolean, apiKeys: readonly KeyPolicy[] = []): boolean {
  for (const policy of config.keyPolicies.values()) if (has(policy)) return true;
  return apiKeys.some(has);
}

/** The guards of a key made by the admin API, ready to use; undefined when it set none. */
export function apiKeyPolicy(key: KeyRecord): KeyPolicy | undefined {
  return key.source === 'api' && key.policy ? keyPolicy(key.policy, key.department, key.name) : undefined;
}

/**
 * The lookup of a key's policy, remembered per key record and config (a reload brings new ones), so the hot path
 * builds no lookup string per request.
 */
export function keyPolicyLookup(): (config: ResolvedConfig, key: KeyRecord) => KeyPolicy | undefined {
  const cache = new WeakMap<KeyRecord, { config: ResolvedConfig; policy: KeyPolicy | undefined }>();
  return (config, key) => {
    const cached = cache.get(key);
    if (cached && cached.config === config) return cached.policy;
    const policy = key.source === 'config' ? config.keyPolicies.get(keyPolicyName(key.department, key.name)) : apiKeyPolicy(key);
    cache.set(key, { config, policy });
    return policy;
  };
}

/** The agent policy an admin-API key sets itself, remembered per key record and config (its webhook defaults to the department's). */
export function apiAgentPolicyLookup(): (config: ResolvedConfig, key: KeyRecord) => AgentPolicy | undefined {
  const cache = new WeakMap<KeyRecord, { config: ResolvedConfig; policy: AgentPolicy | undefined }>();
  return (config, key) => {
    const cached = cache.get(key);
    if (cached && cached.config === config) return cached.policy;
    const department = config.departments.get(key.department);
    const policy = key.source === 'api' && key.policy?.agent && department ? keyAgentPolicy(key.policy, department) : undefined;
    cache.set(key, { config, policy });
    return policy;
  };
}
