// OpenAI-compatible routes: POST /v1/chat/completions (JSON and SSE), POST /v1/embeddings, GET /v1/models.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ChatRequest } from '../../core/chat-types.js';
import { CovenantError } from '../../core/errors.js';
import { tagsHeader } from '../../core/tags.js';
import type { Route } from '../context.js';
import { toCovenantError } from '../error-response.js';
import type { Gateway } from '../gateway.js';
import type { ChatEndpoint, EmbeddingEndpoint } from '../pipeline.js';
import { modelVersionHeader } from '../versions.js';
import { openAIStreamFormat } from '../streaming.js';
import { parseChatRequest, parseEmbeddingRequest } from '../validate.js';

export function rawBodyOf(request: FastifyRequest): string {
  return (request as FastifyRequest & { rawBody?: string }).rawBody ?? '';
}

export function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The body's `metadata` object, if it has one (Chat Completions: string values, some of which may be tags). */
export function metadataOf(body: unknown): unknown {
  return typeof body === 'object' && body !== null ? (body as { metadata?: unknown }).metadata : undefined;
}

/** The client's W3C trace context (https://www.w3.org/TR/trace-context/), for the request's span to join its trace. */
export function traceContext(request: FastifyRequest): { traceparent?: string; tracestate?: string } {
  return { traceparent: header(request, 'traceparent'), tracestate: header(request, 'tracestate') };
}

/**
 * The error handler of an inference route: a refusal the pipeline did not record (the body was not JSON or not
 * valid, the alias is unknown) goes into the ledger when the request's key is valid, then the server's error handler
 * answers as for any error. Unauthenticated requests are not recorded, nor are errors that are not refusals.
 */
export function recordRefusals(gateway: Gateway, route: Route) {
  return async (error: unknown, request: FastifyRequest): Promise<never> => {
    if (error instanceof CovenantError && error.headers['x-covenant-request-id'] !== undefined) throw error;
    const refusal = toCovenantError(error, gateway.config.server.body_limit_bytes);
    if (refusal.status >= 500 || refusal.code === 'missing_api_key' || refusal.code === 'invalid_api_key') throw error;
    const key = gateway.keyOf(header(request, 'authorization'), route === 'messages' ? header(request, 'x-api-key') : undefined);
    if (!key) throw error;
    throw await gateway.refuse({
      route, key, body: request.body, rawBody: rawBodyOf(request), userHeader: header(request, 'x-covenant-user'),
      tagsHeader: header(request, tagsHeader), tagsMetadata: route === 'chat' || route === 'responses' ? metadataOf(request.body) : undefined,
      ...traceContext(request),
    }, refusal);
  };
}

/** Like OpenAI, the response names the exact model version that answered (the pinned upstream id). */
const chatCompletions: ChatEndpoint = {
  route: 'chat',
  body: (result) => result.response,
  streamFormat: (_stream, context) => openAIStreamFormat(context.clientRequest as ChatRequest),
};

const embeddings: EmbeddingEndpoint = {
  route: 'embeddings',
  body: (result) => result.response,
};

export function registerOpenAIRoutes(app: FastifyInstance, gateway: Gateway): void {
  app.post('/v1/chat/completions', { errorHandler: recordRefusals(gateway, 'chat') }, (request, reply) => gateway.run({
    endpoint: chatCompletions,
    key: gateway.authenticate(header(request, 'authorization')),
    request: parseChatRequest(request.body),
    rawBody: rawBodyOf(request),
    userHeader: header(request, 'x-covenant-user'),
    sessionHeader: header(request, 'x-covenant-session'),
    tagsHeader: header(request, tagsHeader),
    tagsMetadata: metadataOf(request.body),
    modelVersion: header(request, modelVersionHeader),
    ...traceContext(request),
  }, reply));

  app.post('/v1/embeddings', { errorHandler: recordRefusals(gateway, 'embeddings') }, (request, reply) => gateway.run({
    endpoint: embeddings,
    key: gateway.authenticate(header(request, 'authorization')),
    request: parseEmbeddingRequest(request.body),
    rawBody: rawBodyOf(request),
    userHeader: header(request, 'x-covenant-user'),
    sessionHeader: header(request, 'x-covenant-session'),
    tagsHeader: header(request, tagsHeader),
    modelVersion: header(request, modelVersionHeader),
    ...traceContext(request),
  }, reply));

  app.get('/v1/models', async (request) => {
    const key = gateway.authenticate(header(request, 'authorization'));
    const models = [...gateway.config.models.values()].filter((model) => key.models === null || key.models.includes(model.alias));
    return {
      object: 'list',
      data: models.map((model) => ({ id: model.alias, object: 'model', created: 0, owned_by: model.provider })),
    };
  });
}
