// Anthropic-compatible POST /v1/messages (JSON and SSE): translated to the OpenAI shape, run through the same pipeline, translated back.
import type { FastifyInstance } from 'fastify';
import type { ChatStream } from '../../providers/types.js';
import type { Gateway } from '../gateway.js';
import { anthropicRequestToChat, anthropicStreamFormat, chatResponseToAnthropic } from '../messages/index.js';
import { header, rawBodyOf, runChat } from './openai.js';

export function registerMessagesRoutes(app: FastifyInstance, gateway: Gateway): void {
  app.post('/v1/messages', async (request, reply) => {
    // Anthropic's SDK sends x-api-key; Bearer works too.
    const key = gateway.authenticate(header(request, 'authorization'), header(request, 'x-api-key'));
    const translated = anthropicRequestToChat(request.body);
    const context = await gateway.begin('messages', key, translated.request, rawBodyOf(request), header(request, 'x-covenant-user'));
    if (translated.warnings.length > 0) context.responseHeaders['x-covenant-warnings'] = translated.warnings.join('; ').slice(0, 1000);
    const format = (stream: ChatStream) => anthropicStreamFormat(translated.request.model, stream.usage);
    await runChat(gateway, context, reply, format, (result) => chatResponseToAnthropic(result.response, result.response.model ?? translated.request.model, result.usage));
  });
}
