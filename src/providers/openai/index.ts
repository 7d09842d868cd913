// OpenAI Chat Completions and Embeddings adapter; with a base_url it serves any OpenAI-compatible host (vLLM, Ollama, Together, Azure-style).
import type { ChatChunk, ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, Usage } from '../../core/chat-types.js';
import { usageFromOpenAI } from '../../core/chat-types.js';
import { CovenantError } from '../../core/errors.js';
import { sendUpstream, sendUpstreamJson, translateTransportError } from '../http.js';
import { readSseBatches, type SseMessage } from '../sse.js';
import { translateBatches } from '../stream-batches.js';
import { WireChunk } from '../wire-chunk.js';
import { createResponsesCalls } from './responses.js';
import type { ChatStream, ProviderAdapter, ProviderCall, ProviderSettings } from '../types.js';

const defaultBaseUrl = 'https://api.openai.com/v1';

export function createOpenAIProvider(settings: ProviderSettings): ProviderAdapter {
  const baseUrl = (settings.baseUrl ?? defaultBaseUrl).replace(/\/+$/, '');
  const headers: Record<string, string> = { ...settings.headers };
  if (settings.apiKey) headers.authorization = `Bearer ${settings.apiKey}`;
  const send = (path: string, body: unknown, signal: AbortSignal, extra: Record<string, string> | undefined) => ({
    provider: settings.name, url: `${baseUrl}${path}`, headers: extra === undefined ? headers : { ...headers, ...extra }, body, signal, timeoutMs: settings.timeoutMs,
  });

  return {
    name: settings.name,
    type: settings.type,
    // OpenAI serves /v1/responses; a compatible host does when its config says so (else it is translated to chat).
    ...((settings.responsesApi ?? (settings.type === 'openai' ? 'native' : 'translated')) === 'native'
      ? createResponsesCalls(settings.name, settings.timeoutMs, send)
      : {}),

    async chat({ request, signal, headers: extra }: ProviderCall<ChatRequest>) {
      const body = { ...request, stream: false };
      delete (body as { stream_options?: unknown }).stream_options;
      const response = await sendUpstreamJson<ChatResponse>(send('/chat/completions', body, signal, extra));
      if (!response || typeof response !== 'object' || !Array.isArray(response.choices)) {
        throw new CovenantError('upstream_error', `Provider "${settings.name}" returned a response without choices.`);
      }
      return { response, usage: usageFromOpenAI(response.usage), warnings: [] };
    },

    async chatStream({ request, signal, headers: extra }: ProviderCall<ChatRequest>): Promise<ChatStream> {
      // Always ask for usage so the stream can be metered; the gateway hides it from clients that did not ask.
      const body = { ...request, stream: true, stream_options: { ...request.stream_options, include_usage: true } };
      const upstream = await sendUpstream(send('/chat/completions', body, signal, extra));
      let usage: Usage | undefined;
      const parse = (text: string): ChatChunk => {
        try {
          return JSON.parse(text) as ChatChunk;
        } catch {
          throw new CovenantError('upstream_error', `Provider "${settings.name}" sent a stream event that is not JSON: ${text.slice(0, 200)}`);
        }
      };
      /** The chunk of one event; throws the provider's error when the event is garbage or reports a failure. */
      const chunkOf = (text: string): ChatChunk => {
        const chunk = new WireChunk(text, parse);
        // Parsed now: what is not the outline of a JSON object (garbage, or JSON with spaces around it), and what
        // may carry usage or an error. The rest is parsed only if a field is read (not for OpenAI clients).
        const outlined = text.charCodeAt(0) === 0x7b && text.charCodeAt(text.length - 1) === 0x7d;
        if (!outlined || !chunk.withoutUsage || text.includes('"error"')) {
          const parsed = chunk.parsed as ChatChunk & { error?: { message?: string } };
          if (parsed.error) throw new CovenantError('upstream_error', `Provider "${settings.name}" failed mid-stream: ${parsed.error.message ?? 'unknown error'}`);
          if (parsed.usage) usage = usageFromOpenAI(parsed.usage);
        }
        return chunk;
      };
      async function* batches(): AsyncGenerator<ChatChunk[]> {
        let finished = false;
        try {
          yield* translateBatches<SseMessage, ChatChunk>(readSseBatches(upstream.body), (message, batch) => {
            if (message.data === '[DONE]') {
              // The answer is complete: end the stream now, and let what is left of the body arrive unread rather
              // than abort it (which would cost the connection).
              finished = true;
              upstream.body.discard();
              return true;
            }
            batch.push(chunkOf(message.data));
            return false;
          });
        } catch (error) {
          throw translateTransportError(settings.name, settings.timeoutMs, error, 'response');
        } finally {
          if (!finished) upstream.body.destroy();
        }
      }
      return { batches: batches(), usage: () => usage, warnings: [] };
    },

    async embed({ request, signal, headers: extra }: ProviderCall<EmbeddingRequest>) {
      const response = await sendUpstreamJson<EmbeddingResponse>(send('/embeddings', request, signal, extra));
      if (!response || !Array.isArray(response.data)) {
        throw new CovenantError('upstream_error', `Provider "${settings.name}" returned an embeddings response without data.`);
      }
      const usage = response.usage
        ? { inputTokens: response.usage.prompt_tokens ?? 0, outputTokens: 0, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 }
        : undefined;
      return { response, usage };
    },
  };
}
