// Pipeline stage for the evidence ledger: every inference, allowed or refused, appends one entry before its response is sent.
import { performance } from 'node:perf_hooks';
import type { LedgerEntryInput, LedgerStore } from '../../ledger/index.js';
import { hashBody } from '../../ledger/index.js';
import type { FinishedContext, Stage } from '../context.js';

declare module '../context.js' {
  interface StageState {
    /** The request's ledger entry once committed (the trace span names it). */
    ledger?: { seq: number };
  }
}

/** Milliseconds to three decimals, as the ledger records durations. */
function milliseconds(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/**
 * The ledger entry of one inference: hashes of the bodies, never the bodies or the key's secret. A request refused
 * before it had a model names the alias it asked for (or null) and no provider.
 */
export function inferenceEntry(context: FinishedContext, configVersion: string): LedgerEntryInput {
  const outcome = context.outcome;
  const usage = context.usage;
  const decision = outcome.kind === 'refused'
    ? { outcome: 'refused', reason: outcome.error.code, policy: outcome.stage ?? null, message: outcome.error.message }
    : {
      outcome: 'allowed',
      max_tokens: context.route === 'embeddings' ? null : context.maxOutputTokens,
      // Only when a budget set max_tokens below what the client asked for (the header is sent on every budgeted call).
      ...(context.state.budget?.lowered ? { policy: 'budget', lowered_max_tokens: true } : {}),
      // The client left and the upstream was stopped: the budget holds the reserved worst case, not a metered bill.
      ...(outcome.kind === 'completed' && outcome.cancelled ? { client_abort: 'cancel', settled: 'worst_case' } : {}),
    };
  // A staging key's request never reached its model's provider: the entry says where it went.
  if (context.state.routedToMock) (decision as Record<string, unknown>).routed_to = 'mock';
  const model = context.model;
  return {
    kind: 'inference',
    // The Date itself: the ledger formats it once (an ISO string would be parsed back to check it).
    time: context.time,
    request_id: context.id,
    department: context.department.name,
    key: context.key.name,
    key_id: context.key.id,
    user: context.user ?? undefined,
    // Only on tagged requests: untagged entries keep their shape (reports group them under a null tag).
    ...(context.tags ? { tags: context.tags } : {}),
    route: context.route,
    alias: context.alias,
    provider: context.provider === null ? null : context.provider.name,
    model_version: model === null ? null : model.version,
    upstream_model: context.upstreamModel,
    system_fingerprint: context.systemFingerprint,
    stream: context.stream,
    request_sha256: hashBody(context.rawBody),
    response_sha256: context.responseHash,
    status: context.status,
    error: outcome.kind === 'failed' ? outcome.error.code : (context.streamError === null ? null : context.streamError.code),
    tokens: {
      input: usage?.inputTokens ?? 0,
      output: usage?.outputTokens ?? 0,
      cached_input: usage?.cachedInputTokens ?? 0,
      reasoning: usage?.reasoningTokens ?? 0,
    },
    usage_estimated: context.usageEstimated,
    cost_usd_micros: context.costMicros,
    latency_ms: milliseconds(performance.now() - context.startedAt),
    ttft_ms: context.ttftMs === null ? null : milliseconds(context.ttftMs),
    decision,
    config_version: configVersion,
  };
}

export function createLedgerStage(ledger: LedgerStore, configVersion: () => string, onError: (error: unknown, where: string) => void): Stage {
  return {
    name: 'ledger',
    required: true,
    async finish(context) {
      // Awaited: the response is sent only once its entry is committed (a SIGKILL after that loses nothing).
      const { seq } = await ledger.append(inferenceEntry(context, configVersion()));
      context.state.ledger = { seq };
      const mode = context.department.retention.content;
      if (mode === 'none') return;
      let request: unknown = context.rawBody;
      try {
        request = JSON.parse(context.rawBody);
      } catch {
        // keep the raw text
      }
      ledger.storeContent(seq, { request, response: context.responseText }, mode).catch((error) => onError(error, 'ledger content'));
    },
  };
}
