// The mock provider's behaviour switched at run time (fingerprint, returned model id, answer variant, latency, length): for demos and drift tests.
import type { ChatResponse } from '../../core/chat-types.js';
import type { MockChoice } from './reply.js';

export const mockVariants = ['default', 'alternate', 'refusal'] as const;
export type MockVariant = (typeof mockVariants)[number];

/** What a person changed; unset fields keep the configured behaviour. */
export interface MockBehaviour {
  fingerprint?: string;
  /** The model id answers report instead of the requested one. */
  model?: string;
  variant?: MockVariant;
  latencyMs?: number;
  outputTokens?: number;
  /** Only calls for this model id change (a silent update of one version); unset: every call. */
  version?: string;
}

/** The behaviour of one call: the configured one with the live changes over it. */
export interface LiveMock {
  fingerprint: string;
  model: string | undefined;
  variant: MockVariant;
  latencyMs: number;
  outputTokens: number;
  tokenDelayMs: number;
}

export const defaultMockFingerprint = 'fp_mock';

/** One gateway's mock behaviours by provider name, as the shared store holds them (replaced at each registry load). */
export class MockBehaviours {
  #byProvider = new Map<string, MockBehaviour>();

  get(provider: string): MockBehaviour | undefined {
    return this.#byProvider.get(provider);
  }

  replace(entries: Iterable<[string, MockBehaviour]>): void {
    this.#byProvider = new Map(entries);
  }
}

/** By provider name, in this process: every adapter of that name (a reload builds new ones) reads it per call. */
const behaviours = new Map<string, MockBehaviour>();

/** Change a mock provider's behaviour (merged over earlier changes); null resets it. Returns what is now in force. */
export function setMockBehaviour(provider: string, change: MockBehaviour | null): MockBehaviour {
  if (change === null) {
    behaviours.delete(provider);
    return {};
  }
  const next = { ...behaviours.get(provider), ...change };
  behaviours.set(provider, next);
  return next;
}

/** What is in force for a provider: the gateway's shared setting when it has one, else this process's. */
export function mockBehaviour(provider: string, shared?: MockBehaviours): MockBehaviour {
  return shared?.get(provider) ?? behaviours.get(provider) ?? {};
}

export function liveMock(provider: string, configured: { latencyMs: number; outputTokens: number; tokenDelayMs: number }, requested: string, shared?: MockBehaviours): LiveMock {
  const changed = shared?.get(provider) ?? behaviours.get(provider);
  const live = changed?.version === undefined || changed.version === requested ? changed : undefined;
  return {
    fingerprint: live?.fingerprint ?? defaultMockFingerprint,
    model: live?.model,
    variant: live?.variant ?? 'default',
    latencyMs: live?.latencyMs ?? configured.latencyMs,
    outputTokens: live?.outputTokens ?? configured.outputTokens,
    tokenDelayMs: configured.tokenDelayMs,
  };
}

const refusal = ['I', 'cannot', 'help', 'with', 'that', 'request.'];

/** A text choice in another variant: `alternate` words the answer differently, `refusal` declines; tool calls and JSON stay. */
export function withVariant(choice: MockChoice, variant: MockVariant): MockChoice {
  if (variant === 'default' || choice.toolCalls || choice.json) return choice;
  if (variant === 'refusal') return { ...choice, words: refusal.slice(0, Math.max(1, choice.words.length)), finishReason: 'stop' };
  const body = choice.words.slice(2).reverse().map((word, index) => (index % 3 === 0 ? word.toUpperCase() : word));
  return { ...choice, words: ['Revised', 'answer:', ...body].slice(0, choice.words.length) };
}

/** An answer as the live behaviour reports it: its model id and fingerprint. */
export function stamped(response: ChatResponse, live: LiveMock): ChatResponse {
  return { ...response, model: live.model ?? response.model, system_fingerprint: live.fingerprint };
}
