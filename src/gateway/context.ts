// One request's state as it passes the pipeline, and the Stage contract that budgets, guards and the ledger plug into.
import type { ChatRequest, EmbeddingRequest, Usage } from '../core/chat-types.js';
import type { CovenantError } from '../core/errors.js';
import type { Tags } from '../core/tags.js';
import type { ResolvedDepartment, ResolvedModel } from '../config/resolve.js';
import type { ProviderAdapter } from '../providers/types.js';
import type { KeyRecord } from '../stores/records.js';

export type Route = 'chat' | 'embeddings' | 'messages' | 'responses';

export type Outcome =
  | { kind: 'pending' }
  /**
   * The provider answered (for streams: the stream ended, even if the client had left). `cancelled`: the client left
   * and the upstream was stopped (streams.on_client_abort: cancel), so usage is the reserved worst case.
   */
  | { kind: 'completed'; clientGone: boolean; cancelled?: boolean }
  /**
   * Refused before the provider was called; `stage` names the policy that refused it (a stage's name, or `request`
   * and `access` for a body or alias refused before the stages ran).
   */
  | { kind: 'refused'; error: CovenantError; stage?: string }
  /** The provider call failed or timed out. */
  | { kind: 'failed'; error: CovenantError };

/**
 * Each stage's own state for one request: one optional field per stage, declared by the stage in its own file, e.g.
 * `declare module '../context.js' { interface StageState { budget?: BudgetHandle } }`.
 */
export interface StageState {}

/** What every request from a valid key has, whether or not it got as far as a model. */
interface RequestFields {
  id: string;
  /** Wall-clock start, for records. */
  time: Date;
  /** Monotonic start (performance.now()), for latency. */
  startedAt: number;
  route: Route;
  key: KeyRecord;
  department: ResolvedDepartment;
  /** End user: the OpenAI `user` field or the x-covenant-user header. */
  user: string | null;
  /** Cost attribution tags (x-covenant-tags, body metadata), keys sorted; null when the request carries none. */
  tags: Tags | null;
  /** The alias the client asked for; null when the body named none. */
  alias: string | null;
  stream: boolean;
  /** The request body as received, for hashing into the ledger. */
  rawBody: string;
  /** The client's W3C trace context headers (traceparent, tracestate), when it sent them. */
  traceparent: string | null;
  tracestate: string | null;
  /**
   * Milliseconds from the request's start to its first output: the first chunk with content of a stream, the whole
   * answer of a JSON call; null when there was none.
   */
  ttftMs: number | null;
  /** The choices' finish reasons of a JSON chat answer; null for streams and embeddings (not gathered chunk by chunk). */
  finishReasons: string[] | null;
  /** Headers every response of this request carries (stages add to them). */
  responseHeaders: Record<string, string>;
  outcome: Outcome;
  /** Usage as reported by the provider; undefined until known (or if never reported). */
  usage: Usage | undefined;
  /** True when usage was not reported and the worst case was charged instead. */
  usageEstimated: boolean;
  costMicros: number;
  upstreamModel: string | null;
  systemFingerprint: string | null;
  /** SHA-256 hex of the response body as sent to the client (streams: of the concatenated events). */
  responseHash: string | null;
  /** The response body text, when a stage (content retention) needs it. */
  responseText: string | null;
  /** The error a stream ended with after its headers went out (its status stays in `status`). */
  streamError: CovenantError | null;
  status: number;
  /** The stages that admitted this request: the same ones finish it, even across a reload. */
  stages: readonly Stage[];
  state: StageState;
}

/** A request admitted to the stages: its model is resolved and its upstream request built. */
export interface CallContext extends RequestFields {
  model: ResolvedModel;
  provider: ProviderAdapter;
  /** What the client asked for, before any stage changed it. */
  clientRequest: ChatRequest | EmbeddingRequest;
  /** What will be sent upstream: model set to the pinned version; stages may lower max_tokens. */
  upstreamRequest: ChatRequest | EmbeddingRequest;
  /** The x-covenant-session header: the agent session this request is a step of (null when not sent). */
  sessionHeader: string | null;
  /** Output tokens the provider may produce (the max_tokens sent upstream). */
  maxOutputTokens: number;
  /** Headers of this call for the provider (trace context), set by stages; undefined when none. */
  upstreamHeaders: Record<string, string> | undefined;
}

/** A request from a valid key refused before it had a model (a bad body, an unknown alias): only finished, never admitted. */
export interface EarlyRefusal extends RequestFields {
  model: null;
  provider: null;
  clientRequest: null;
  upstreamRequest: null;
  maxOutputTokens: 0;
  upstreamHeaders: undefined;
}

/** What a stage's finish sees: an admitted call, or an early refusal (test `context.model` to tell them apart). */
export type FinishedContext = CallContext | EarlyRefusal;

/**
 * A pipeline stage. `admit` runs before the provider is called and may change the upstream request,
 * add response headers, or throw a CovenantError to refuse. `finish` runs once after the call ends,
 * whatever the outcome (also for refusals, and for requests refused before any stage admitted them), before the
 * response's last byte is sent, alongside the other stages' finishes.
 * A failed finish is reported and otherwise ignored, unless the stage is `required`: then a completed call's answer
 * is withheld where it has not been sent yet (503 evidence_unavailable), and a stream ends with that error.
 */
export interface Stage {
  readonly name: string;
  /** Its finish is evidence the answer may not go out without (the ledger entry). */
  readonly required?: boolean;
  admit?(context: CallContext): Promise<void> | void;
  finish?(context: FinishedContext): Promise<void> | void;
  /**
   * Runs after every stage's finish has settled, so it sees what they recorded (the ledger's seq); `recorded` is false
   * when a required finish failed. For observers (the trace span): synchronous, and its errors are ignored.
   */
  finished?(context: FinishedContext, recorded: boolean): void;
}
