// OpenAI's own Responses API (POST /v1/responses), passed through: the body as the client sent it, usage read from the answer.
import type { Usage } from '../../core/chat-types.js';
import { CovenantError } from '../../core/errors.js';
import { sendUpstream, sendUpstreamJson, translateTransportError, type UpstreamRequest } from '../http.js';
import { readSseBatches, type SseMessage } from '../sse.js';
import { translateBatches } from '../stream-batches.js';
import type { ProviderCall, ResponsesEvent, ResponsesResult, ResponsesStream } from '../types.js';

interface ResponsesUsage {
  input_tokens?: number;
  output_tokens?: number;
  input_tokens_details?: { cached_tokens?: number } | null;
  output_tokens_details?: { reasoning_tokens?: number } | null;
}

/** The Responses API's usage (https://platform.openai.com/docs/api-reference/responses/object#responses/object-usage) -> Covenant's. */
export function usageOfResponse(usage: ResponsesUsage | null | undefined): Usage | undefined {
  if (!usage || typeof usage !== 'object') return undefined;
  return {
    inputTokens: usage.input_tokens ?? 0,
    outputTokens: usage.output_tokens ?? 0,
    cachedInputTokens: usage.input_tokens_details?.cached_tokens ?? 0,
    cacheWriteTokens: 0,
    reasoningTokens: usage.output_tokens_details?.reasoning_tokens ?? 0,
  };
}

/** The events that carry the final Response object, whose usage is what OpenAI bills (responses-streaming docs). */
const finalEvents = new Set(['response.completed', 'response.incomplete', 'response.failed']);

export function createResponsesCalls(name: string, timeoutMs: number, send: (path: string, body: unknown, signal: AbortSignal, extra: Record<string, string> | undefined) => UpstreamRequest) {
  return {
    async responses({ request, signal, headers: extra }: ProviderCall<Record<string, unknown>>): Promise<ResponsesResult> {
      const response = await sendUpstreamJson<Record<string, unknown> & { usage?: ResponsesUsage; model?: string }>(send('/responses', { ...request, stream: false }, signal, extra));
      if (!response || typeof response !== 'object' || response.object !== 'response') {
        throw new CovenantError('upstream_error', `Provider "${name}" returned something other than a Response object.`);
      }
      return { response, usage: usageOfResponse(response.usage), warnings: [] };
    },

    async responsesStream({ request, signal, headers: extra }: ProviderCall<Record<string, unknown>>): Promise<ResponsesStream> {
      const upstream = await sendUpstream(send('/responses', { ...request, stream: true }, signal, extra));
      let usage: Usage | undefined;
      /** Each event goes out as the text OpenAI sent; only the first and the final ones are parsed (model, usage). */
      const eventOf = (message: SseMessage, first: boolean): ResponsesEvent => {
        const text = `event: ${message.event || 'message'}\ndata: ${message.data}\n\n`;
        if (!first && !finalEvents.has(message.event)) return { text, model: undefined };
        let parsed: { response?: { model?: string; usage?: ResponsesUsage } };
        try {
          parsed = JSON.parse(message.data) as typeof parsed;
        } catch {
          throw new CovenantError('upstream_error', `Provider "${name}" sent a stream event that is not JSON: ${message.data.slice(0, 200)}`);
        }
        if (finalEvents.has(message.event)) usage = usageOfResponse(parsed.response?.usage);
        return { text, model: parsed.response?.model };
      };
      async function* batches(): AsyncGenerator<ResponsesEvent[]> {
        let first = true;
        try {
          yield* translateBatches<SseMessage, ResponsesEvent>(readSseBatches(upstream.body), (message, batch) => {
            batch.push(eventOf(message, first));
            first = false;
            return false;
          });
        } catch (error) {
          throw translateTransportError(name, timeoutMs, error, 'response');
        } finally {
          upstream.body.destroy();
        }
      }
      return { batches: batches(), usage: () => usage, warnings: [] };
    },
  };
}
