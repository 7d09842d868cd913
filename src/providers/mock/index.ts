// The built-in mock provider: offline and deterministic, reports usage like a real provider, with configurable latency and length.
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { ChatChunk, ChatRequest, EmbeddingRequest, Usage } from '../../core/chat-types.js';
import { defaultEmbeddingDimensions } from '../../core/embedding.js';
import { CovenantError } from '../../core/errors.js';
import type { ChatStream, ProviderAdapter, ProviderCall, ProviderSettings } from '../types.js';
import { batchesOfOne } from '../stream-batches.js';
import { buildResponse, choiceText, mockEmbedding, planChoice } from './reply.js';
import { liveMock, stamped, withVariant, type LiveMock, type MockBehaviours } from './behaviour.js';

async function wait(milliseconds: number, signal: AbortSignal): Promise<void> {
  if (milliseconds <= 0) {
    if (signal.aborted) throw new CovenantError('upstream_timeout', 'The call to the mock provider was aborted.');
    return;
  }
  try {
    await delay(milliseconds, undefined, { signal });
  } catch {
    throw new CovenantError('upstream_timeout', 'The call to the mock provider was aborted.');
  }
}

/** `shared`: the gateway's run-time behaviours (from the shared store); without it, this process's only. */
export function createMockProvider(settings: ProviderSettings, shared?: MockBehaviours): ProviderAdapter {
  const options = settings.mock ?? { latencyMs: 0, outputTokens: 32, tokenDelayMs: 0 };
  const created = () => Math.floor(Date.now() / 1000);

  const plan = (request: ChatRequest, live: LiveMock) => {
    const count = request.n ?? 1;
    return Array.from({ length: count }, (_, index) => withVariant(planChoice(request, index, live.outputTokens), live.variant));
  };

  return {
    name: settings.name,
    type: 'mock',

    async chat({ request, signal }: ProviderCall<ChatRequest>) {
      const live = liveMock(settings.name, options, request.model, shared);
      await wait(live.latencyMs, signal);
      const { response, usage } = buildResponse(request, plan(request, live), `chatcmpl-mock-${randomUUID()}`, created());
      return { response: stamped(response, live), usage, warnings: [] };
    },

    async chatStream({ request, signal }: ProviderCall<ChatRequest>): Promise<ChatStream> {
      const live = liveMock(settings.name, options, request.model, shared);
      await wait(live.latencyMs, signal);
      const choices = plan(request, live);
      const id = `chatcmpl-mock-${randomUUID()}`;
      const time = created();
      const { usage: finalUsage, response } = buildResponse(request, choices, id, time);
      let usage: Usage | undefined;
      const base = { id, object: 'chat.completion.chunk' as const, created: time, model: live.model ?? request.model, system_fingerprint: live.fingerprint };
      async function* chunks(): AsyncGenerator<ChatChunk> {
        for (const [index, choice] of choices.entries()) {
          yield { ...base, choices: [{ index, delta: { role: 'assistant', content: '' }, finish_reason: null }] };
          if (choice.toolCalls) {
            yield { ...base, choices: [{ index, delta: { tool_calls: choice.toolCalls.map((call, position) => ({ index: position, ...call })) }, finish_reason: null }] };
          } else if (choice.json) {
            yield { ...base, choices: [{ index, delta: { content: choiceText(choice) }, finish_reason: null }] };
          } else {
            for (const [position, word] of choice.words.entries()) {
              await wait(options.tokenDelayMs, signal);
              yield { ...base, choices: [{ index, delta: { content: position === 0 ? word : ` ${word}` }, finish_reason: null }] };
            }
          }
          yield { ...base, choices: [{ index, delta: {}, finish_reason: choice.finishReason }] };
        }
        usage = finalUsage;
        yield { ...base, choices: [], usage: response.usage };
      }
      return { batches: batchesOfOne(chunks()), usage: () => usage, warnings: [] };
    },

    async embed({ request, signal }: ProviderCall<EmbeddingRequest>) {
      await wait(options.latencyMs, signal);
      const inputs = typeof request.input === 'string' ? [request.input]
        : (request.input as unknown[]).map((item) => (typeof item === 'string' ? item : JSON.stringify(item)));
      const dimensions = request.dimensions ?? defaultEmbeddingDimensions;
      const tokens = inputs.reduce((sum, text) => sum + Math.ceil(Buffer.byteLength(text, 'utf8') / 4), 0);
      return {
        response: {
          object: 'list' as const,
          data: inputs.map((text, index) => ({ object: 'embedding' as const, index, embedding: mockEmbedding(text, dimensions) })),
          model: request.model,
          usage: { prompt_tokens: tokens, total_tokens: tokens },
        },
        usage: { inputTokens: tokens, outputTokens: 0, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 },
      };
    },
  };
}
