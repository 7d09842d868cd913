// A key's guards and routing from the config (config keys only: keys made by the admin API carry none), cached per key.
import { keyPolicyName, type KeyPolicy, type ResolvedConfig } from '../../config/resolve.js';
import type { KeyRecord } from '../../stores/records.js';

/** Whether any config key, department or model sets a guard or routing: a config without any leaves the stages out. */
export function usesKeyPolicies(config: ResolvedConfig, has: (policy: KeyPolicy) => boolean): boolean {
  for (const policy of config.keyPolicies.values()) if (has(policy)) return true;
  return false;
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
    const policy = key.source === 'config' ? config.keyPolicies.get(keyPolicyName(key.department, key.name)) : undefined;
    cache.set(key, { config, policy });
    return policy;
  };
}
