// The Gemini provider adapter: OpenAI-shaped calls in, Gemini generateContent / streamGenerateContent (SSE) upstream, OpenAI shapes out.
import { randomUUID } from 'node:crypto';
import type { EmbeddingRequest, EmbeddingResponse } from '../../core/chat-types.js';
import { CovenantError } from '../../core/errors.js';
import { sendUpstream, sendUpstreamJson, translateTransportError } from '../http.js';
import { readSseBatches } from '../sse.js';
import type { ChatResult, ChatStream, EmbeddingResult, ProviderAdapter, ProviderSettings } from '../types.js';
import { convertToGeminiRequest } from './convert-to-gemini-request.js';
import { geminiBatchEmbedResponseSchema, geminiResponseSchema, parseGeminiWire, type GeminiBatchEmbedRequest } from './gemini-api-schema.js';
import { mapGeminiResponse, type GeminiMappingContext } from './map-gemini-response.js';
import { GeminiStreamMapper } from './map-gemini-stream.js';

export const defaultGeminiBaseUrl = 'https://generativelanguage.googleapis.com';

/** Clock and ids, passed in so tests can pin them. */
export interface GeminiDependencies {
  /** Milliseconds since the epoch. */
  now?: () => number;
  newId?: () => string;
}

/**
 * @example createGeminiProvider({name: 'gemini', type: 'gemini', apiKey: 'AIza…', timeoutMs: 60_000})
 */
export function createGeminiProvider(settings: ProviderSettings, dependencies: GeminiDependencies = {}): ProviderAdapter {
  // Accept a base URL with or without the /v1beta suffix.
  const base = (settings.baseUrl ?? defaultGeminiBaseUrl).replace(/\/+$/, '').replace(/\/v1beta$/, '');
  const headers: Record<string, string> = { ...(settings.apiKey ? { 'x-goog-api-key': settings.apiKey } : {}), ...settings.headers };
  const now = dependencies.now ?? Date.now;
  const newId = dependencies.newId ?? (() => randomUUID().replace(/-/g, '').slice(0, 24));
  const upstream = (model: string, method: string, query = '', extra?: Record<string, string>) => ({
    provider: settings.name, url: `${base}/v1beta/${modelPath(model)}:${method}${query}`,
    headers: extra === undefined ? headers : { ...headers, ...extra }, timeoutMs: settings.timeoutMs,
  });
  const context = (model: string): GeminiMappingContext => ({
    id: `chatcmpl-${newId()}`, created: Math.floor(now() / 1000), model, newToolCallId: () => `call_${newId()}`,
  });

  return {
    name: settings.name,
    type: 'gemini',

    async chat({ request, signal, headers: extra }): Promise<ChatResult> {
      const { body, warnings } = convertToGeminiRequest(request);
      const raw = await sendUpstreamJson<unknown>({ ...upstream(request.model, 'generateContent', '', extra), body, signal });
      const parsed = parseGeminiWire(geminiResponseSchema, raw, settings.name, 'response');
      const { response, usage } = mapGeminiResponse(parsed, context(request.model));
      return { response, usage, warnings };
    },

    async chatStream({ request, signal, headers: extra }): Promise<ChatStream> {
      const { body, warnings } = convertToGeminiRequest(request);
      const target = upstream(request.model, 'streamGenerateContent', '?alt=sse');
      const response = await sendUpstream({ ...target, body, signal, headers: { ...headers, ...extra, accept: 'text/event-stream' } });
      const mapper = new GeminiStreamMapper(settings.name, context(request.model));
      const batches = mapper.map(readSseBatches(guard(response.body, settings.name, settings.timeoutMs)));
      return { batches, usage: () => mapper.usage(), warnings };
    },

    async embed({ request, signal, headers: extra }): Promise<EmbeddingResult> {
      const inputs = typeof request.input === 'string' ? [request.input] : request.input;
      if (!inputs.every((input): input is string => typeof input === 'string')) {
        throw new CovenantError('upstream_unsupported', `Provider "${settings.name}" (Gemini) embeds text only, not token arrays.`, { param: 'input' });
      }
      const body: GeminiBatchEmbedRequest = {
        requests: inputs.map((text) => ({
          model: modelPath(request.model),
          content: { parts: [{ text }] },
          ...(typeof request.dimensions === 'number' ? { outputDimensionality: request.dimensions } : {}),
        })),
      };
      const raw = await sendUpstreamJson<unknown>({ ...upstream(request.model, 'batchEmbedContents', '', extra), body, signal });
      const parsed = parseGeminiWire(geminiBatchEmbedResponseSchema, raw, settings.name, 'batchEmbedContents response');
      const response: EmbeddingResponse = {
        object: 'list',
        data: parsed.embeddings.map((embedding, index) => ({
          object: 'embedding',
          index,
          embedding: request.encoding_format === 'base64' ? Buffer.from(new Float32Array(embedding.values).buffer).toString('base64') : embedding.values,
        })),
        model: request.model,
        // Gemini's embedding API reports no token counts.
        usage: { prompt_tokens: 0, total_tokens: 0 },
      };
      return { response, usage: undefined };
    },
  } satisfies ProviderAdapter & { embed(call: { request: EmbeddingRequest; signal: AbortSignal; headers?: Record<string, string> }): Promise<EmbeddingResult> };
}

/** "gemini-2.0-flash" -> "models/gemini-2.0-flash"; ids that already name a collection ("tunedModels/x", "models/x") stay. */
export function modelPath(model: string): string {
  return model.includes('/') ? model : `models/${model}`;
}

/** Transport failures while reading the body (idle timeout, reset) become the same errors as before the headers. */
async function* guard(body: AsyncIterable<Uint8Array>, provider: string, timeoutMs: number): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of body) yield chunk;
  } catch (error) {
    throw translateTransportError(provider, timeoutMs, error, 'response');
  }
}
