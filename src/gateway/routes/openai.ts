// OpenAI-compatible routes: POST /v1/chat/completions (JSON and SSE), POST /v1/embeddings, GET /v1/models.
import { hash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ChatRequest } from '../../core/chat-types.js';
import { CovenantError } from '../../core/errors.js';
import { formatMicros } from '../../core/money.js';
import type { Gateway } from '../gateway.js';
import type { CallContext } from '../context.js';
import { openAIStreamFormat, pipeStream, type StreamFormat } from '../streaming.js';
import type { ChatResult, ChatStream } from '../../providers/types.js';
import { parseChatRequest, parseEmbeddingRequest } from '../validate.js';
import { rawJsonOf } from '../../providers/raw-json.js';

export function rawBodyOf(request: FastifyRequest): string {
  return (request as FastifyRequest & { rawBody?: string }).rawBody ?? '';
}

export function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Send a finished JSON body: hashed for the ledger, then the finishing stages run, then it is sent. A provider's body
 * passed through unchanged goes out as the exact text the provider sent (no second serialisation).
 */
export async function sendJson(gateway: Gateway, context: CallContext, reply: FastifyReply, body: unknown, usage: Parameters<Gateway['complete']>[1]): Promise<void> {
  const text = rawJsonOf(body) ?? JSON.stringify(body);
  context.responseHash = hash('sha256', text, 'hex');
  context.responseText = text;
  await gateway.complete(context, usage);
  reply.headers(context.responseHeaders).header('x-covenant-cost-usd', formatMicros(context.costMicros));
  reply.type('application/json').send(text);
}

/**
 * Call the provider for a chat context and answer: SSE through `format` for streams, else the JSON `toBody` makes.
 * Shared by the OpenAI and Anthropic ingresses, which differ only in their wire formats.
 */
export async function runChat(gateway: Gateway, context: CallContext, reply: FastifyReply, format: (stream: ChatStream) => StreamFormat, toBody: (result: ChatResult) => unknown): Promise<void> {
  const upstream = context.upstreamRequest as ChatRequest;
  if (context.stream) {
    let stream;
    try {
      stream = await context.provider.chatStream({ request: upstream, signal: gateway.streamSignal() });
    } catch (error) {
      throw await gateway.fail(context, error);
    }
    reply.hijack();
    await pipeStream(gateway, context, reply.raw, stream, format(stream));
    return;
  }
  let result: ChatResult;
  try {
    result = await context.provider.chat({ request: upstream, signal: gateway.timeoutSignal(context) });
  } catch (error) {
    throw await gateway.fail(context, error);
  }
  context.upstreamModel = result.response.model ?? null;
  context.systemFingerprint = result.response.system_fingerprint ?? null;
  if (result.warnings.length > 0) context.responseHeaders['x-covenant-warnings'] = result.warnings.join('; ').slice(0, 1000);
  await sendJson(gateway, context, reply, toBody(result), result.usage);
}

export function registerOpenAIRoutes(app: FastifyInstance, gateway: Gateway): void {
  app.post('/v1/chat/completions', async (request, reply) => {
    const key = gateway.authenticate(header(request, 'authorization'));
    const body = parseChatRequest(request.body);
    const context = await gateway.begin('chat', key, body, rawBodyOf(request), header(request, 'x-covenant-user'));
    // Like OpenAI, the response names the exact model version that answered (the pinned upstream id).
    await runChat(gateway, context, reply, () => openAIStreamFormat(context.clientRequest as ChatRequest), (result) => result.response);
  });

  app.post('/v1/embeddings', async (request, reply) => {
    const key = gateway.authenticate(header(request, 'authorization'));
    const body = parseEmbeddingRequest(request.body);
    const context = await gateway.begin('embeddings', key, body, rawBodyOf(request), header(request, 'x-covenant-user'));
    if (!context.provider.embed) {
      throw await gateway.fail(context, new CovenantError('upstream_unsupported', `Provider "${context.provider.name}" has no embeddings API.`));
    }
    let result;
    try {
      result = await context.provider.embed({ request: context.upstreamRequest as typeof body, signal: gateway.timeoutSignal(context) });
    } catch (error) {
      throw await gateway.fail(context, error);
    }
    context.upstreamModel = result.response.model ?? null;
    await sendJson(gateway, context, reply, result.response, result.usage);
  });

  app.get('/v1/models', async (request) => {
    const key = gateway.authenticate(header(request, 'authorization'));
    const models = [...gateway.config.models.values()].filter((model) => key.models === null || key.models.includes(model.alias));
    return {
      object: 'list',
      data: models.map((model) => ({ id: model.alias, object: 'model', created: 0, owned_by: model.provider })),
    };
  });
}
