// Anthropic-compatible POST /v1/messages (JSON and SSE): translated to the OpenAI shape, run through the same pipeline, translated back.
import type { FastifyInstance } from 'fastify';
import { tagsHeader } from '../../core/tags.js';
import type { Gateway } from '../gateway.js';
import { anthropicRequestToChat, anthropicStreamFormat, chatResponseToAnthropic } from '../messages/index.js';
import type { ChatEndpoint } from '../pipeline.js';
import { modelVersionHeader } from '../versions.js';
import { header, rawBodyOf, recordRefusals, traceContext } from './openai.js';

/**
 * Answers in Anthropic's shapes; the client's request here is the translated one, whose model is the alias asked for.
 * Both name the model the upstream answered with, else the alias: a stream's message_start goes out with its first
 * chunk, after pipeStream has read that chunk's model into the context.
 */
const anthropicMessages: ChatEndpoint = {
  route: 'messages',
  body: (result, context) => chatResponseToAnthropic(result.response, result.response.model ?? context.clientRequest.model, result.usage),
  streamFormat: (stream, context) => anthropicStreamFormat(() => context.upstreamModel ?? context.clientRequest.model, stream.usage),
};

export function registerMessagesRoutes(app: FastifyInstance, gateway: Gateway): void {
  app.post('/v1/messages', { errorHandler: recordRefusals(gateway, 'messages') }, (request, reply) => {
    // Anthropic's SDK sends x-api-key; Bearer works too.
    const key = gateway.authenticate(header(request, 'authorization'), header(request, 'x-api-key'));
    const translated = anthropicRequestToChat(request.body);
    return gateway.run({
      endpoint: anthropicMessages, key, request: translated.request, rawBody: rawBodyOf(request), userHeader: header(request, 'x-covenant-user'), sessionHeader: header(request, 'x-covenant-session'), warnings: translated.warnings,
      // Anthropic's metadata holds only user_id: tags come from the header alone.
      tagsHeader: header(request, tagsHeader),
      modelVersion: header(request, modelVersionHeader),
      ...traceContext(request),
    }, reply);
  });
}
