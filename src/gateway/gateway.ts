// The request pipeline: authenticate → resolve policy → stages admit (guards, budgets) → provider → meter → stages finish (budget settle, ledger entry) → metrics.
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { ChatRequest, EmbeddingRequest, Usage } from '../core/chat-types.js';
import { CovenantError } from '../core/errors.js';
import { costMicros } from '../core/pricing.js';
import type { ResolvedConfig } from '../config/resolve.js';
import type { ProviderAdapter } from '../providers/types.js';
import type { KeyRecord, RequestLog } from '../stores/records.js';
import type { CallContext, Route, Stage } from './context.js';
import type { KeyIndex } from './keys.js';
import type { Metrics } from './metrics.js';
import { promptBound } from './prompt-bound.js';

/** The first stage: the key's allowed aliases and the route's model type (refusals are recorded like any other). */
const accessStage: Stage = {
  name: 'access',
  admit(context) {
    const { key, model, route } = context;
    if (key.models !== null && !key.models.includes(model.alias)) throw new CovenantError('model_not_allowed', model.alias, { param: 'model' });
    if ((model.type === 'embedding') !== (route === 'embeddings')) {
      throw new CovenantError('invalid_request', `The model "${model.alias}" is ${model.type === 'embedding' ? 'an embedding' : 'a chat'} model and cannot serve this route.`, { param: 'model' });
    }
  },
};

export interface GatewayServices {
  config: ResolvedConfig;
  keys: KeyIndex;
  providers: Map<string, ProviderAdapter>;
  stages: Stage[];
  requestLog: RequestLog;
  metrics: Metrics;
  now?: () => Date;
}

export class Gateway {
  private readonly shutdown = new AbortController();

  constructor(private services: GatewayServices) {
    // Every open stream listens on the shutdown signal.
    setMaxListeners(0, this.shutdown.signal);
  }

  get config(): ResolvedConfig {
    return this.services.config;
  }

  get keys(): KeyIndex {
    return this.services.keys;
  }

  get requestLog(): RequestLog {
    return this.services.requestLog;
  }

  get metrics(): Metrics {
    return this.services.metrics;
  }

  /** Swap in a reloaded config (and the providers and stages built from it) without dropping in-flight requests. */
  replace(services: Partial<GatewayServices>): void {
    this.services = { ...this.services, ...services };
  }

  /** Find the virtual key of a request; 401 when it is missing, unknown or revoked. */
  authenticate(authorization: string | undefined, apiKeyHeader?: string | undefined): KeyRecord {
    let secret: string | undefined;
    if (authorization) {
      const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
      secret = match?.[1]?.trim();
    }
    secret ??= apiKeyHeader?.trim();
    if (!secret) throw new CovenantError('missing_api_key');
    const key = this.services.keys.find(secret);
    if (!key) throw new CovenantError('invalid_api_key');
    return key;
  }

  /** Build the request's context and run every stage's admission; a refusal is recorded before it is thrown. */
  async begin(route: Route, key: KeyRecord, request: ChatRequest | EmbeddingRequest, rawBody: string, userHeader: string | undefined): Promise<CallContext> {
    const { config } = this.services;
    const model = config.models.get(request.model);
    if (!model) throw new CovenantError('model_not_found', request.model, { param: 'model' });
    const provider = this.services.providers.get(model.provider);
    const department = config.departments.get(key.department);
    if (!provider || !department) throw new CovenantError('internal_error');

    const upstreamRequest = { ...request, model: model.version };
    const chat = route === 'embeddings' ? undefined : (upstreamRequest as ChatRequest);
    const requested = chat ? (chat.max_completion_tokens ?? chat.max_tokens ?? undefined) : undefined;
    const context: CallContext = {
      id: `req_${randomUUID().replaceAll('-', '')}`,
      time: this.now(),
      startedAt: performance.now(),
      route,
      key,
      department,
      user: (typeof request.user === 'string' && request.user) || userHeader || null,
      model,
      provider,
      stream: chat?.stream === true,
      clientRequest: request,
      upstreamRequest,
      rawBody,
      maxOutputTokens: chat ? Math.min(requested ?? model.maxOutputTokens, model.maxOutputTokens) : 0,
      responseHeaders: {},
      outcome: { kind: 'pending' },
      usage: undefined,
      usageEstimated: false,
      costMicros: 0,
      upstreamModel: null,
      systemFingerprint: null,
      responseHash: null,
      responseText: null,
      status: 200,
      state: {},
    };
    context.responseHeaders['x-covenant-request-id'] = context.id;
    for (const stage of [accessStage, ...this.services.stages]) {
      if (!stage.admit) continue;
      try {
        await stage.admit(context);
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

  /**
   * The signal for a non-streaming provider call. HTTP providers are bounded by their own timeouts (undici's
   * headers and body timeouts, set from timeout_ms), which cost nothing per request; this only ends calls at shutdown.
   */
  timeoutSignal(_context: CallContext): AbortSignal {
    return this.shutdown.signal;
  }

  /** Streams are bounded by the provider's idle timeouts, not a total one; only shutdown ends them early. */
  streamSignal(): AbortSignal {
    return this.shutdown.signal;
  }

  /** Abort streams still running when the shutdown grace period is over. */
  abortStreams(): void {
    this.shutdown.abort();
  }

  /** The call failed: record it with the provider's error; the caller sends the error response. */
  async fail(context: CallContext, error: unknown): Promise<CovenantError> {
    const failure = error instanceof CovenantError ? error : new CovenantError('upstream_error', error instanceof Error ? error.message : String(error));
    context.outcome = { kind: 'failed', error: failure };
    context.status = failure.status;
    await this.finish(context);
    failure.headers['x-covenant-request-id'] = context.id;
    return failure;
  }

  /**
   * The call completed: meter it (worst case when the provider reported no usage) and run the finishing stages.
   * Throws CovenantError evidence_unavailable when a required stage (the ledger) could not record it.
   */
  async complete(context: CallContext, usage: Usage | undefined, clientGone = false): Promise<void> {
    context.outcome = { kind: 'completed', clientGone };
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

  /** Run every finishing stage; false when a required one failed. */
  private async finish(context: CallContext): Promise<boolean> {
    let recorded = true;
    // Finishing stages run together, so their writes (budget settle, ledger append) share one commit.
    await Promise.all(this.services.stages.map(async (stage) => {
      if (!stage.finish) return;
      try {
        await stage.finish(context);
      } catch (error) {
        process.emitWarning(`stage ${stage.name} failed to finish request ${context.id}: ${(error as Error).message}`);
        if (stage.required) recorded = false;
      }
    }));
    const latencyMs = performance.now() - context.startedAt;
    this.services.metrics.observe(context, latencyMs);
    return recorded;
  }

  private now(): Date {
    return this.services.now ? this.services.now() : new Date();
  }
}
