// The request pipeline: resolve the version → stages admit → provider call (chat, stream, embed) → meter → stages finish → answer.
import { hash, randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { ChatRequest, EmbeddingRequest, Usage } from '../core/chat-types.js';
import { CovenantError } from '../core/errors.js';
import { formatMicros } from '../core/money.js';
import { parseTags, parseTagsLeniently } from '../core/tags.js';
import { costMicros } from '../core/pricing.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { rawJsonOf } from '../providers/raw-json.js';
import type { ChatResult, ChatStream, EmbeddingResult, ProviderAdapter } from '../providers/types.js';
import type { KeyRecord } from '../stores/records.js';
import type { CallContext, EarlyRefusal, FinishedContext, Route, Stage } from './context.js';
import type { Metrics } from './metrics.js';
import { promptBound } from './prompt-bound.js';
import { headerSafe, pipeStream, withWarnings, type StreamFormat } from './streaming.js';
import { configVersions, type VersionResolver } from './versions.js';

/** How a chat route (OpenAI's chat or Responses API, Anthropic's Messages) writes its answer; declared once per route, not per request. */
export interface ChatEndpoint {
  readonly route: 'chat' | 'messages' | 'responses';
  /** The JSON body for the provider's answer. */
  body(result: ChatResult, context: CallContext, call: Call): unknown;
  /** The SSE format of a streamed answer. */
  streamFormat(stream: ChatStream, context: CallContext, call: Call): StreamFormat;
  /** Refuse a call this provider cannot serve on this route, before any stage admits it (a 400 naming the field). */
  check?(call: Call, provider: ProviderAdapter): void;
  /** Call the provider in the route's own API instead of chat, when it serves it natively; undefined for chat. */
  native?(call: Call, context: CallContext, signal: AbortSignal): Promise<ChatResult> | undefined;
  /** The same for a stream. */
  nativeStream?(call: Call, context: CallContext, signal: AbortSignal): Promise<ChatStream> | undefined;
}

/** How an embeddings route writes its answer. */
export interface EmbeddingEndpoint {
  readonly route: 'embeddings';
  body(result: EmbeddingResult, context: CallContext): unknown;
}

export type Endpoint = ChatEndpoint | EmbeddingEndpoint;

/** One request as a route hands it to the pipeline: parsed and authenticated, not yet resolved or admitted. */
export interface Call {
  endpoint: Endpoint;
  key: KeyRecord;
  request: ChatRequest | EmbeddingRequest;
  /** The body as received, for hashing into the ledger. */
  rawBody: string;
  /** The x-covenant-user header (the body's `user` field wins). */
  userHeader: string | undefined;
  /** The x-covenant-session header: the agent session this request is a step of. */
  sessionHeader?: string;
  /** Settings the route's translation dropped, for the client to see (x-covenant-warnings). */
  warnings?: readonly string[];
  /** The x-covenant-tags header. */
  tagsHeader?: string;
  /** The body's `metadata`, where the client API has one whose values may be tags (Chat Completions). */
  tagsMetadata?: unknown;
  /** The client's W3C trace context headers. */
  traceparent?: string;
  tracestate?: string;
  /** The x-covenant-model-version header: a specific registry version of the alias. */
  modelVersion?: string;
  /** The request in the client's own API, for an endpoint that passes it to providers that serve that API natively. */
  ingress?: unknown;
}

/** A request from a valid key that failed before it was a Call: what is known of it, for its ledger entry. */
export interface EarlyRequest {
  route: Route;
  key: KeyRecord;
  /** The parsed body if it parsed (it names the alias, the user, whether it streams). */
  body: unknown;
  rawBody: string;
  userHeader: string | undefined;
  tagsHeader?: string;
  tagsMetadata?: unknown;
  traceparent?: string;
  tracestate?: string;
}

/** Where the pipeline writes its answer: a FastifyReply is one (tests pass a fake). */
export interface Reply {
  headers(values: Record<string, string>): unknown;
  header(name: string, value: string): unknown;
  type(contentType: string): unknown;
  send(payload: string): unknown;
  /** Take the raw response over, for a stream. */
  hijack(): unknown;
  readonly raw: ServerResponse;
}

export interface PipelineServices {
  config: ResolvedConfig;
  providers: Map<string, ProviderAdapter>;
  /** In admission order (src/gateway/stages/index.ts declares them). */
  stages: Stage[];
  metrics: Pick<Metrics, 'observe'>;
  /** Alias → upstream version; the config's pinning when absent. */
  versions?: VersionResolver;
  now?: () => Date;
}

const requestPolicy = 'request';
const accessPolicy = 'access';

export class Pipeline<Services extends PipelineServices = PipelineServices> {
  private readonly shutdown = new AbortController();
  private readonly configVersions = configVersions(() => this.services.config);

  constructor(protected services: Services) {
    // Every open stream listens on the shutdown signal.
    setMaxListeners(0, this.shutdown.signal);
  }

  /** Swap in a reloaded config (and the providers and stages built from it) without dropping in-flight requests. */
  replace(services: Partial<Services>): void {
    this.services = { ...this.services, ...services };
  }

  /**
   * Run one call through the pipeline and answer it on `reply`: a JSON body, or SSE for a chat stream. A refusal or
   * a provider failure is recorded, then thrown as the CovenantError the server's error handler sends.
   * @example await gateway.run({ endpoint: chatCompletions, key, request, rawBody, userHeader }, reply)
   */
  async run(call: Call, reply: Reply): Promise<void> {
    const context = await this.begin(call);
    if (call.warnings !== undefined && call.warnings.length > 0) context.responseHeaders['x-covenant-warnings'] = headerSafe(call.warnings.join('; ').slice(0, 1000));
    const endpoint = call.endpoint;
    const provider = context.provider;
    if (endpoint.route === 'embeddings') {
      if (!provider.embed) throw await this.fail(context, new CovenantError('upstream_unsupported', `Provider "${provider.name}" has no embeddings API.`));
      let result: EmbeddingResult;
      try {
        result = await provider.embed({ request: context.upstreamRequest as EmbeddingRequest, signal: this.shutdown.signal, headers: context.upstreamHeaders });
      } catch (error) {
        throw await this.fail(context, error);
      }
      context.upstreamModel = result.response.model ?? null;
      await this.send(context, reply, endpoint.body(result, context), result.usage);
      return;
    }
    const upstream = context.upstreamRequest as ChatRequest;
    if (context.stream) {
      let stream: ChatStream;
      // streams.on_client_abort: cancel stops the upstream when the client leaves; drain (the default) needs no signal of its own.
      const upstreamAbort = this.services.config.streams.onClientAbort === 'cancel' ? new AbortController() : undefined;
      try {
        // Streams are bounded by the provider's idle timeouts, not a total one; only shutdown (or a cancelled client) ends them early.
        const signal = upstreamAbort ? AbortSignal.any([this.shutdown.signal, upstreamAbort.signal]) : this.shutdown.signal;
        stream = await (endpoint.nativeStream?.(call, context, signal) ?? provider.chatStream({ request: upstream, signal, headers: context.upstreamHeaders }));
      } catch (error) {
        throw await this.fail(context, error);
      }
      reply.hijack();
      await pipeStream(this, context, reply.raw, stream, endpoint.streamFormat(stream, context, call), upstreamAbort);
      return;
    }
    let result: ChatResult;
    try {
      // HTTP providers are bounded by their own timeouts (undici's, set from timeout_ms), which cost nothing per
      // request; the signal only ends calls at shutdown.
      result = await (endpoint.native?.(call, context, this.shutdown.signal) ?? provider.chat({ request: upstream, signal: this.shutdown.signal, headers: context.upstreamHeaders }));
    } catch (error) {
      throw await this.fail(context, error);
    }
    context.upstreamModel = result.response.model ?? null;
    context.systemFingerprint = result.response.system_fingerprint ?? null;
    // A native answer in another API (a Response object) has no choices.
    context.finishReasons = result.response.choices?.map((choice) => choice.finish_reason ?? 'unknown') ?? [];
    if (result.warnings.length > 0) context.responseHeaders['x-covenant-warnings'] = withWarnings(context.responseHeaders['x-covenant-warnings'], result.warnings);
    await this.send(context, reply, endpoint.body(result, context, call), result.usage);
  }

  /**
   * Record the refusal of a valid key's request that never became a call (its body did not parse, its alias is
   * unknown): every stage's finish sees it, so the ledger holds it. Returns the error to send, carrying the entry's id.
   */
  async refuse(request: EarlyRequest, error: CovenantError): Promise<CovenantError> {
    const department = this.services.config.departments.get(request.key.department);
    if (!department) return error;
    const body = typeof request.body === 'object' && request.body !== null ? request.body as Record<string, unknown> : undefined;
    const alias = typeof body?.model === 'string' ? body.model : null;
    const stages = this.services.stages;
    const context: EarlyRefusal = {
      id: newRequestId(),
      time: this.now(),
      startedAt: performance.now(),
      route: request.route,
      key: request.key,
      department,
      user: (typeof body?.user === 'string' && body.user) || request.userHeader || null,
      tags: parseTagsLeniently(request.tagsHeader, request.tagsMetadata, this.services.config.tags),
      alias,
      model: null,
      provider: null,
      stream: body?.stream === true,
      clientRequest: null,
      upstreamRequest: null,
      rawBody: request.rawBody,
      traceparent: request.traceparent ?? null,
      tracestate: request.tracestate ?? null,
      ttftMs: null,
      finishReasons: null,
      maxOutputTokens: 0,
      upstreamHeaders: undefined,
      responseHeaders: {},
      outcome: { kind: 'refused', error, stage: error.code === 'model_not_found' ? accessPolicy : requestPolicy },
      usage: undefined,
      usageEstimated: false,
      costMicros: 0,
      upstreamModel: null,
      systemFingerprint: null,
      responseHash: null,
      responseText: null,
      streamError: null,
      status: error.status,
      stages,
      state: {},
    };
    await this.finish(context);
    error.headers['x-covenant-request-id'] = context.id;
    return error;
  }

  /** Abort streams still running when the shutdown grace period is over. */
  abortStreams(): void {
    this.shutdown.abort();
  }

  /**
   * The call completed: meter it (worst case when the provider reported no usage, or when `cancelled`: the client left
   * and the upstream was stopped, so what it billed is unknown) and run the finishing stages.
   * Throws CovenantError evidence_unavailable when a required stage (the ledger) could not record it.
   */
  async complete(context: CallContext, usage: Usage | undefined, clientGone = false, cancelled = false): Promise<void> {
    context.outcome = cancelled ? { kind: 'completed', clientGone, cancelled } : { kind: 'completed', clientGone };
    // A JSON chat answer's first token reaches the client with its last: its latency (streams set it on the first content).
    if (!context.stream && context.route !== 'embeddings') context.ttftMs = performance.now() - context.startedAt;
    if (usage) {
      context.usage = usage;
    } else {
      context.usageEstimated = true;
      const choices = context.route === 'embeddings' ? 1 : ((context.upstreamRequest as ChatRequest).n ?? 1);
      context.usage = {
        inputTokens: promptBound(context.upstreamRequest),
        outputTokens: context.maxOutputTokens * choices,
        cachedInputTokens: 0,
        cacheWriteTokens: 0,
        reasoningTokens: 0,
      };
    }
    context.costMicros = costMicros(context.usage, context.model.pricing);
    if (!(await this.finish(context))) {
      // No answer without its evidence: the caller sends this instead (or ends the stream with it).
      const withheld = new CovenantError('evidence_unavailable');
      withheld.headers['x-covenant-request-id'] = context.id;
      throw withheld;
    }
  }

  /** Build the request's context and run every stage's admission; a refusal is recorded before it is thrown. */
  private async begin(call: Call): Promise<CallContext> {
    const { config } = this.services;
    const { request, key, endpoint } = call;
    const route = endpoint.route;
    // Before the model: a bad tag is the client's error whatever it asked for (recorded by the route as a refusal).
    const tags = parseTags(call.tagsHeader, call.tagsMetadata, config.tags);
    const model = (this.services.versions ?? this.configVersions).resolve(request.model, key, route, call.modelVersion);
    if (!model) throw new CovenantError('model_not_found', request.model, { param: 'model' });
    const provider = this.services.providers.get(model.provider);
    const department = config.departments.get(key.department);
    if (!provider || !department) throw new CovenantError('internal_error');
    if (endpoint.route !== 'embeddings') endpoint.check?.(call, provider);

    const upstreamRequest = { ...request, model: model.version };
    const chat = route === 'embeddings' ? undefined : (upstreamRequest as ChatRequest);
    const requested = chat ? (chat.max_completion_tokens ?? chat.max_tokens ?? undefined) : undefined;
    const stages = this.services.stages;
    const context: CallContext = {
      id: newRequestId(),
      time: this.now(),
      startedAt: performance.now(),
      route,
      key,
      department,
      user: (typeof request.user === 'string' && request.user) || call.userHeader || null,
      tags,
      alias: model.alias,
      model,
      provider,
      stream: chat?.stream === true,
      clientRequest: request,
      upstreamRequest,
      sessionHeader: call.sessionHeader || null,
      rawBody: call.rawBody,
      traceparent: call.traceparent ?? null,
      tracestate: call.tracestate ?? null,
      ttftMs: null,
      finishReasons: null,
      maxOutputTokens: chat ? Math.min(requested ?? model.maxOutputTokens, model.maxOutputTokens) : 0,
      upstreamHeaders: undefined,
      responseHeaders: {},
      outcome: { kind: 'pending' },
      usage: undefined,
      usageEstimated: false,
      costMicros: 0,
      upstreamModel: null,
      systemFingerprint: null,
      responseHash: null,
      responseText: null,
      streamError: null,
      status: 200,
      stages,
      state: {},
    };
    context.responseHeaders['x-covenant-request-id'] = context.id;
    for (const stage of stages) {
      if (!stage.admit) continue;
      try {
        // A synchronous admission (access, the model registry's) is not awaited: each await is a trip through the microtask queue.
        const admitting = stage.admit(context);
        if (admitting !== undefined) await admitting;
      } catch (error) {
        const refusal = error instanceof CovenantError ? error : new CovenantError('internal_error');
        context.outcome = { kind: 'refused', error: refusal, stage: stage.name };
        context.status = refusal.status;
        await this.finish(context);
        // The refusal's ledger entry carries this id: the client gets it too.
        refusal.headers['x-covenant-request-id'] = context.id;
        throw refusal;
      }
    }
    return context;
  }

  /** The call failed: record it with the provider's error; returns the error to send. */
  private async fail(context: CallContext, error: unknown): Promise<CovenantError> {
    const failure = error instanceof CovenantError ? error : new CovenantError('upstream_error', error instanceof Error ? error.message : String(error));
    context.outcome = { kind: 'failed', error: failure };
    context.status = failure.status;
    await this.finish(context);
    failure.headers['x-covenant-request-id'] = context.id;
    return failure;
  }

  /**
   * Send a finished JSON body: hashed for the ledger, then the finishing stages run, then it is sent. A provider's body
   * passed through unchanged goes out as the exact text the provider sent (no second serialisation).
   */
  private async send(context: CallContext, reply: Reply, body: unknown, usage: Usage | undefined): Promise<void> {
    const text = rawJsonOf(body) ?? JSON.stringify(body);
    context.responseHash = hash('sha256', text, 'hex');
    context.responseText = text;
    await this.complete(context, usage);
    reply.headers(context.responseHeaders);
    reply.header('x-covenant-cost-usd', formatMicros(context.costMicros));
    reply.type('application/json');
    reply.send(text);
  }

  /** Run every finishing stage; false when a required one failed. */
  private async finish(context: FinishedContext): Promise<boolean> {
    let recorded = true;
    // Finishing stages run together, so their writes (budget settle, ledger append) share one commit. Only stages with
    // a finish get a promise: observers (the model registry's, live drift) have only `finished`.
    const finishing: Promise<void>[] = [];
    for (const stage of context.stages) {
      if (!stage.finish) continue;
      finishing.push((async () => {
        try {
          await stage.finish!(context);
        } catch (error) {
          process.emitWarning(`stage ${stage.name} failed to finish request ${context.id}: ${(error as Error).message}`);
          if (stage.required) recorded = false;
        }
      })());
    }
    if (finishing.length > 0) await Promise.all(finishing);
    // Requests refused before they had a model are in the ledger, not in the per-model metrics.
    if (context.model !== null) this.services.metrics.observe(context, performance.now() - context.startedAt);
    for (const stage of context.stages) {
      if (!stage.finished) continue;
      try {
        stage.finished(context, recorded);
      } catch (error) {
        process.emitWarning(`stage ${stage.name} failed after request ${context.id}: ${(error as Error).message}`);
      }
    }
    return recorded;
  }

  private now(): Date {
    return this.services.now ? this.services.now() : new Date();
  }
}

function newRequestId(): string {
  return `req_${randomUUID().replaceAll('-', '')}`;
}
