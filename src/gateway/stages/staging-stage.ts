// Pipeline stage for staging keys with route: mock: every request is answered by the built-in mock provider, at no cost.
import type { KeyPolicy, ResolvedConfig, ResolvedModel } from '../../config/resolve.js';
import { createMockProvider } from '../../providers/mock/index.js';
import type { ProviderAdapter } from '../../providers/types.js';
import type { Stage } from '../context.js';
import { keyPolicyLookup, usesKeyPolicies } from './key-policy.js';

declare module '../context.js' {
  interface StageState {
    /** Set when the request was answered by the mock instead of its model's provider. */
    routedToMock?: true;
  }
}

/** The provider name staging traffic is recorded under. */
export const stagingMockName = 'covenant-mock';

const free = { inputMicrosPerMtok: 0, outputMicrosPerMtok: 0, cachedInputMicrosPerMtok: 0, cacheWriteMicrosPerMtok: 0 };

/** Whether any config key, or any of the admin-API keys' policies, is routed to the mock. */
export function usesStaging(config: ResolvedConfig, apiKeys: readonly KeyPolicy[] = []): boolean {
  return usesKeyPolicies(config, (policy) => policy.routeToMock, apiKeys);
}

export function createStagingStage(config: () => ResolvedConfig): Stage {
  const policyOf = keyPolicyLookup();
  const mock: ProviderAdapter = createMockProvider({
    name: stagingMockName, type: 'mock', timeoutMs: 0, mock: { latencyMs: 0, outputTokens: 32, tokenDelayMs: 0 },
  });
  // The model as the mock serves it (same alias and version, so responses keep their shape), built once per model.
  const mocked = new WeakMap<ResolvedModel, ResolvedModel>();
  return {
    name: 'staging',
    admit(context) {
      if (policyOf(config(), context.key)?.routeToMock !== true) return;
      let model = mocked.get(context.model);
      if (!model) {
        model = { ...context.model, provider: stagingMockName, providerType: 'mock', pricing: free, priceSource: 'config' };
        mocked.set(context.model, model);
      }
      context.model = model;
      context.provider = mock;
      context.state.routedToMock = true;
    },
  };
}
