// OpenAI Responses API: POST /v1/responses (JSON and SSE), passed through to OpenAI, translated to chat for every other provider.
import type { FastifyInstance } from 'fastify';
import type { ChatRequest, ChatResponse } from '../../core/chat-types.js';
import { CovenantError } from '../../core/errors.js';
import { tagsHeader } from '../../core/tags.js';
import type { ChatResult, ChatStream } from '../../providers/types.js';
import type { Gateway } from '../gateway.js';
import type { Call, ChatEndpoint } from '../pipeline.js';
import { modelVersionHeader } from '../versions.js';
import { chatResponseToResponses, nativeResponsesStreamFormat, responsesRequestToChat, responsesStreamFormat, type TranslatedResponsesRequest } from '../responses/index.js';
import type { CallContext } from '../context.js';
import { header, metadataOf, rawBodyOf, recordRefusals, traceContext } from './openai.js';

/** Results that are OpenAI's own Response objects, sent as received. */
const nativeResults = new WeakSet<ChatResult>();
const nativeStreams = new WeakSet<ChatStream>();

/** The OpenAI-only fields that refer to state stored at OpenAI (a conversation, a response, an item, a prompt). */
const storedState = /^(previous_response_id|conversation|store|prompt)$|"item_reference"/;

const translatedOf = (call: Call): TranslatedResponsesRequest => call.ingress as TranslatedResponsesRequest;

/**
 * The body OpenAI gets: the client's, with the pinned version and, as for chat, the output limit the client asked for
 * or the budget lowered it to (the stages set it on the translated request). The Responses API's max_output_tokens
 * bounds reasoning and visible output together, like chat's max_completion_tokens.
 */
function nativeBody(call: Call, context: CallContext): Record<string, unknown> {
  // The translation's warnings do not apply: OpenAI gets every field.
  delete context.responseHeaders['x-covenant-warnings'];
  const body: Record<string, unknown> = { ...translatedOf(call).body, model: context.model.version };
  const limit = (context.upstreamRequest as ChatRequest).max_tokens;
  if (limit != null) body.max_output_tokens = limit;
  return body;
}

const responses: ChatEndpoint = {
  route: 'responses',
  body(result, context, call) {
    if (nativeResults.has(result)) return result.response;
    const translated = translatedOf(call);
    return chatResponseToResponses(result.response, result.response.model ?? context.model.version, result.usage, translated.body);
  },
  streamFormat(stream, context, call) {
    if (nativeStreams.has(stream)) return nativeResponsesStreamFormat();
    return responsesStreamFormat(context.model.version, stream.usage, translatedOf(call).body, Math.floor(context.time.getTime() / 1000));
  },
  check(call, provider) {
    const [field] = translatedOf(call).openAIOnly;
    if (field === undefined || provider.responses) return;
    const stored = storedState.test(field)
      ? ' Stored state lives at OpenAI: send the whole conversation as input items instead (the Vercel AI SDK does with providerOptions.openai.store = false).'
      : '';
    throw new CovenantError('invalid_request',
      `${field} is only served by OpenAI's own Responses API; the model's provider "${provider.name}" (type ${provider.type}) cannot honour it.${stored}`,
      { param: field.split(/[ [(.]/)[0] });
  },
  native(call, context, signal) {
    const provider = context.provider;
    if (!provider.responses) return undefined;
    return provider.responses({ request: nativeBody(call, context), signal, headers: context.upstreamHeaders }).then((native) => {
      const result: ChatResult = { response: native.response as unknown as ChatResponse, usage: native.usage, warnings: native.warnings };
      nativeResults.add(result);
      return result;
    });
  },
  nativeStream(call, context, signal) {
    const provider = context.provider;
    if (!provider.responsesStream) return undefined;
    return provider.responsesStream({ request: nativeBody(call, context), signal, headers: context.upstreamHeaders }).then((native) => {
      // Its events stand where chat chunks would: pipeStream reads only `model` of them, the native format their text.
      const stream = native as unknown as ChatStream;
      nativeStreams.add(stream);
      return stream;
    });
  },
};

export function registerResponsesRoutes(app: FastifyInstance, gateway: Gateway): void {
  app.post('/v1/responses', { errorHandler: recordRefusals(gateway, 'responses') }, (request, reply) => {
    const key = gateway.authenticate(header(request, 'authorization'));
    const translated = responsesRequestToChat(request.body);
    return gateway.run({
      endpoint: responses, key, request: translated.request, rawBody: rawBodyOf(request), userHeader: header(request, 'x-covenant-user'),
      sessionHeader: header(request, 'x-covenant-session'), warnings: translated.warnings, ingress: translated,
      tagsHeader: header(request, tagsHeader), tagsMetadata: metadataOf(request.body), ...traceContext(request),
      modelVersion: header(request, modelVersionHeader),
    }, reply);
  });
}
