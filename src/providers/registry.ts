// Builds each configured provider's adapter by type; thin providers are settings over the shared OpenAI base.
import { createAnthropicProvider } from './anthropic/index.js';
import { createGeminiProvider } from './gemini/index.js';
import { createMockProvider } from './mock/index.js';
import { createOpenAIProvider } from './openai/index.js';
import type { ProviderAdapter, ProviderSettings } from './types.js';

export function createProvider(settings: ProviderSettings): ProviderAdapter {
  switch (settings.type) {
    case 'mock':
      return createMockProvider(settings);
    case 'openai':
    case 'openai-compatible':
      return createOpenAIProvider(settings);
    case 'anthropic':
      return createAnthropicProvider(settings);
    case 'gemini':
      return createGeminiProvider(settings);
  }
}

export function createProviders(settings: Iterable<ProviderSettings>): Map<string, ProviderAdapter> {
  const providers = new Map<string, ProviderAdapter>();
  for (const provider of settings) providers.set(provider.name, createProvider(provider));
  return providers;
}
