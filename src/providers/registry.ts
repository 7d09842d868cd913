// Builds each configured provider's adapter by type; thin providers are settings over the shared OpenAI base.
import { createScrubber } from '../core/secrets.js';
import { createAnthropicProvider } from './anthropic/index.js';
import { createGeminiProvider } from './gemini/index.js';
import type { MockBehaviours } from './mock/behaviour.js';
import { createMockProvider } from './mock/index.js';
import { createOpenAIProvider } from './openai/index.js';
import type { ProviderAdapter, ProviderSettings } from './types.js';

/** Header names whose values are credentials (api-key for Azure-style hosts, custom auth tokens). */
const credentialHeader = /key|token|auth|secret|password/i;

/** What an adapter sends that callers must never see: its API key and credential headers. */
export function secretsOf(settings: ProviderSettings): string[] {
  const secrets = settings.apiKey ? [settings.apiKey] : [];
  for (const [name, value] of Object.entries(settings.headers ?? {})) {
    if (credentialHeader.test(name)) secrets.push(value.replace(/^Bearer\s+/i, ''));
  }
  return secrets;
}

export function createProvider(settings: ProviderSettings, mocks?: MockBehaviours): ProviderAdapter {
  const adapter = createAdapter(settings, mocks);
  const secrets = secretsOf(settings);
  return secrets.length === 0 ? adapter : withScrubbedErrors(adapter, createScrubber(secrets));
}

function createAdapter(settings: ProviderSettings, mocks?: MockBehaviours): ProviderAdapter {
  switch (settings.type) {
    case 'mock':
      return createMockProvider(settings, mocks);
    case 'openai':
    case 'openai-compatible':
      return createOpenAIProvider(settings);
    case 'anthropic':
      return createAnthropicProvider(settings);
    case 'gemini':
      return createGeminiProvider(settings);
  }
}

/** `mocks`: the gateway's run-time mock behaviours, shared by its replicas through the registry store. */
export function createProviders(settings: Iterable<ProviderSettings>, mocks?: MockBehaviours): Map<string, ProviderAdapter> {
  const providers = new Map<string, ProviderAdapter>();
  for (const provider of settings) providers.set(provider.name, createProvider(provider, mocks));
  return providers;
}

/**
 * A provider's errors quote what it was sent, the API key included (OpenAI's 401 quotes it masked; other hosts may quote
 * all of it): every error that leaves the adapter, before or during a stream, has its secrets taken out.
 */
function withScrubbedErrors(adapter: ProviderAdapter, scrub: (text: string) => string): ProviderAdapter {
  const clean = (error: unknown): never => {
    if (error instanceof Error) error.message = scrub(error.message);
    throw error;
  };
  const embed = adapter.embed?.bind(adapter);
  const responses = adapter.responses?.bind(adapter);
  const responsesStream = adapter.responsesStream?.bind(adapter);
  return {
    name: adapter.name,
    type: adapter.type,
    chat: (call) => adapter.chat(call).catch(clean),
    async chatStream(call) {
      const stream = await adapter.chatStream(call).catch(clean);
      stream.batches = scrubbedBatches(stream.batches, clean);
      return stream;
    },
    embed: embed ? (call) => embed(call).catch(clean) : undefined,
    responses: responses ? (call) => responses(call).catch(clean) : undefined,
    responsesStream: responsesStream
      ? async (call) => {
        const stream = await responsesStream(call).catch(clean);
        stream.batches = scrubbedBatches(stream.batches, clean);
        return stream;
      }
      : undefined,
  };
}

async function* scrubbedBatches<T>(batches: AsyncIterable<T[]>, clean: (error: unknown) => never): AsyncGenerator<T[]> {
  try {
    yield* batches;
  } catch (error) {
    clean(error);
  }
}
