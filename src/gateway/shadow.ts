// Shadow traffic: a share of an alias's live chat calls (JSON or streamed) is sent to its staged candidate as a JSON call, compared, recorded, never returned.
import { performance } from 'node:perf_hooks';
import type { ChatRequest, ChatResponse } from '../core/chat-types.js';
import { costMicros } from '../core/pricing.js';
import type { LedgerEntryInput } from '../ledger/types.js';
import type { ModelRegistry } from '../models/registry.js';
import type { ProviderAdapter } from '../providers/types.js';
import type { CallContext } from './context.js';

declare module './context.js' {
  interface StageState {
    /** A streamed call picked for shadow traffic before it ran: its target, and the answer text as the client got it. */
    shadowStream?: { target: ShadowTarget; text: string };
  }
}

export interface ShadowTarget {
  version: string;
  provider: ProviderAdapter;
}

export interface ShadowServices {
  registry: ModelRegistry;
  providers: () => Map<string, ProviderAdapter>;
  record: (entry: LedgerEntryInput) => Promise<void>;
  onError: (error: unknown, where: string) => void;
  /** 0 ≤ x < 1; Math.random unless a test fixes it. */
  random?: () => number;
}

/** The first choice's text of a chat answer (JSON text as sent, or the object). */
export function answerText(response: string | ChatResponse | null): string {
  if (response === null) return '';
  let body: unknown = response;
  if (typeof response === 'string') {
    try {
      body = JSON.parse(response);
    } catch {
      return '';
    }
  }
  const content = (body as ChatResponse).choices?.[0]?.message?.content;
  return typeof content === 'string' ? content : '';
}

/** Whether this finished call is mirrored: a completed JSON chat call of an alias with a candidate, a share, and budget left. */
export function shadowCandidate(services: ShadowServices, context: CallContext): ShadowTarget | undefined {
  if (context.stream || context.outcome.kind !== 'completed') return undefined;
  return shadowPick(services, context);
}

/**
 * Whether this streamed chat call is mirrored, decided before it runs (its answer text is gathered chunk by chunk
 * only then); the stage sends the shadow call once the stream ended well.
 */
export function pickStreamShadow(services: ShadowServices, context: CallContext): void {
  if (!context.stream) return;
  const target = shadowPick(services, context);
  if (target) context.state.shadowStream = { target, text: '' };
}

/** The streamed answer's text so far, when the call was picked for shadow traffic (streaming.ts calls it per chunk). */
export function gatherShadowText(context: CallContext, chunk: { choices?: { delta?: { content?: unknown } }[] }): void {
  const shadow = context.state.shadowStream;
  if (shadow === undefined) return;
  const content = chunk.choices?.[0]?.delta?.content;
  if (typeof content === 'string') shadow.text += content;
}

/** A chat call of an alias with a candidate, a share drawn, and staging budget left: the candidate to mirror it to. */
function shadowPick(services: ShadowServices, context: CallContext): ShadowTarget | undefined {
  if (context.route !== 'chat' || context.state.routedToMock) return undefined;
  const policy = services.registry.policy(context.model.alias)?.shadow;
  if (!policy || policy.share <= 0) return undefined;
  const candidate = services.registry.candidate(context.model.alias);
  if (!candidate || candidate.version === context.model.version) return undefined;
  // A call served by a version the caller asked for (x-covenant-model-version) is not the alias's live traffic.
  if (services.registry.activeVersion(context.model.alias) !== context.model.version) return undefined;
  if ((services.random ?? Math.random)() >= policy.share) return undefined;
  if (services.registry.shadowSpent(context.model.alias, candidate.version) >= policy.budgetMicros) return undefined;
  const provider = services.providers().get(candidate.provider);
  return provider ? { version: candidate.version, provider } : undefined;
}

/** Call the candidate with the same request, compare its answer with the one the client got, and record it (model.shadow). */
export async function runShadow(services: ShadowServices, context: CallContext, target: ShadowTarget): Promise<void> {
  const { registry } = services;
  const alias = context.model.alias;
  const candidate = registry.candidate(alias);
  if (!candidate) return;
  const request: ChatRequest = { ...(context.upstreamRequest as ChatRequest), model: target.version, stream: false };
  delete request.stream_options;
  const started = performance.now();
  let entry: LedgerEntryInput;
  try {
    const result = await target.provider.chat({ request, signal: AbortSignal.timeout(120_000) });
    const cost = result.usage ? costMicros(result.usage, candidate.pricing) : 0;
    registry.addShadowSpend(alias, target.version, cost);
    const served = context.stream ? context.state.shadowStream?.text ?? '' : answerText(context.responseText);
    const similarity = registry.similarity.compare(served, answerText(result.response));
    entry = {
      kind: 'model.shadow', shadow: true, alias, version: target.version, active_version: context.model.version, request_id: context.id,
      department: context.department.name, key: context.key.name, stream: context.stream, upstream_model: result.response.model ?? null,
      system_fingerprint: result.response.system_fingerprint ?? null,
      tokens: { input: result.usage?.inputTokens ?? 0, output: result.usage?.outputTokens ?? 0 }, cost_usd_micros: cost,
      latency_ms: Math.round((performance.now() - started) * 1000) / 1000,
      similarity: Math.round(similarity * 1_000_000) / 1_000_000, similarity_method: registry.similarity.method,
    };
    registry.observe(alias, target.version, { model: result.response.model ?? null, fingerprint: result.response.system_fingerprint ?? null }, context.id);
  } catch (error) {
    entry = {
      kind: 'model.shadow', shadow: true, alias, version: target.version, active_version: context.model.version, request_id: context.id,
      department: context.department.name, key: context.key.name, error: error instanceof Error ? error.message : String(error), cost_usd_micros: 0,
    };
  }
  await services.record(entry);
}
