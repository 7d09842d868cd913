// Anthropic-compatible POST /v1/messages (JSON and SSE): translated to the OpenAI shape, run through the same pipeline, translated back.
import type { FastifyInstance } from 'fastify';
import type { ChatRequest } from '../../core/chat-types.js';
import type { Gateway } from '../gateway.js';
import { anthropicRequestToChat, anthropicStreamFormat, chatResponseToAnthropic } from '../messages/index.js';
import { pipeStream } from '../streaming.js';
import { header, rawBodyOf, sendJson } from './openai.js';

export function registerMessagesRoutes(app: FastifyInstance, gateway: Gateway): void {
  app.post('/v1/messages', async (request, reply) => {
    // Anthropic's SDK sends x-api-key; Bearer works too.
    const key = gateway.authenticate(header(request, 'authorization'), header(request, 'x-api-key'));
    const translated = anthropicRequestToChat(request.body);
    const context = await gateway.begin('messages', key, translated.request, rawBodyOf(request), header(request, 'x-covenant-user'));
    if (translated.warnings.length > 0) context.responseHeaders['x-covenant-warnings'] = translated.warnings.join('; ').slice(0, 1000);
    const upstream = context.upstreamRequest as ChatRequest;
    if (context.stream) {
      let stream;
      try {
        stream = await context.provider.chatStream({ request: upstream, signal: gateway.streamSignal() });
      } catch (error) {
        throw await gateway.fail(context, error);
      }
      reply.hijack();
      await pipeStream(gateway, context, reply.raw, stream, anthropicStreamFormat(translated.request.model, stream.usage));
      return;
    }
    let result;
    try {
      result = await context.provider.chat({ request: upstream, signal: gateway.timeoutSignal(context) });
    } catch (error) {
      throw await gateway.fail(context, error);
    }
    context.upstreamModel = result.response.model ?? null;
    context.systemFingerprint = result.response.system_fingerprint ?? null;
    await sendJson(gateway, context, reply, chatResponseToAnthropic(result.response, result.response.model ?? translated.request.model, result.usage), result.usage);
  });
}
