// The Anthropic provider adapter: OpenAI-shaped calls in, Anthropic Messages API (JSON and SSE) upstream, OpenAI shapes out.
import { CovenantError } from '../../core/errors.js';
import { sendUpstream, sendUpstreamJson, translateTransportError } from '../http.js';
import { readSseBatches } from '../sse.js';
import type { ChatResult, ChatStream, ProviderAdapter, ProviderSettings } from '../types.js';
import { anthropicMessageSchema, anthropicVersion, parseWire } from './anthropic-api-schema.js';
import { convertToAnthropicRequest } from './convert-to-anthropic-request.js';
import { mapAnthropicResponse } from './map-anthropic-response.js';
import { AnthropicStreamMapper } from './map-anthropic-stream.js';

export const defaultAnthropicBaseUrl = 'https://api.anthropic.com';

/**
 * @example createAnthropicProvider({name: 'anthropic', type: 'anthropic', apiKey: 'sk-ant-…', timeoutMs: 60_000})
 */
export function createAnthropicProvider(settings: ProviderSettings): ProviderAdapter {
  // Accept a base URL with or without the /v1 suffix.
  const base = (settings.baseUrl ?? defaultAnthropicBaseUrl).replace(/\/+$/, '').replace(/\/v1$/, '');
  const url = `${base}/v1/messages`;
  const headers: Record<string, string> = {
    'anthropic-version': anthropicVersion,
    ...(settings.apiKey ? { 'x-api-key': settings.apiKey } : {}),
    ...settings.headers,
  };
  const upstream = { provider: settings.name, url, headers, timeoutMs: settings.timeoutMs };

  return {
    name: settings.name,
    type: 'anthropic',

    async chat({ request, signal, headers: extra }): Promise<ChatResult> {
      const { body, warnings } = convertToAnthropicRequest(request, false);
      const raw = await sendUpstreamJson<unknown>({ ...upstream, body, signal, headers: extra === undefined ? headers : { ...headers, ...extra } });
      const message = parseWire(anthropicMessageSchema, raw, settings.name, 'message');
      const { response, usage } = mapAnthropicResponse(message, nowSeconds());
      return { response, usage, warnings };
    },

    async chatStream({ request, signal, headers: extra }): Promise<ChatStream> {
      const { body, warnings } = convertToAnthropicRequest(request, true);
      const response = await sendUpstream({ ...upstream, body, signal, headers: { ...headers, ...extra, accept: 'text/event-stream' } });
      const mapper = new AnthropicStreamMapper(settings.name, nowSeconds());
      const batches = mapper.map(readSseBatches(guard(response.body, settings.name, settings.timeoutMs)));
      return { batches, usage: () => mapper.usage(), warnings };
    },
  };
}

/** Transport failures while reading the body (idle timeout, reset) become the same errors as before the headers. */
async function* guard(body: AsyncIterable<Uint8Array>, provider: string, timeoutMs: number): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of body) yield chunk;
  } catch (error) {
    const translated = translateTransportError(provider, timeoutMs, error);
    if (translated.code !== 'upstream_error') throw translated;
    const reason = error instanceof Error ? error.message : String(error);
    throw new CovenantError('upstream_error', `Provider "${provider}" broke off the stream: ${reason}`);
  }
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
