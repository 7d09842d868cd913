// The provider contract: every adapter turns OpenAI-shaped calls into its provider's API and back.
import type { ChatChunk, ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, Usage } from '../core/chat-types.js';

export type ProviderType = 'openai' | 'anthropic' | 'gemini' | 'openai-compatible' | 'mock';

export interface ProviderCall<TRequest> {
  /** The request in OpenAI's shape, with `model` already set to the pinned upstream version. */
  request: TRequest;
  /** Aborted when the client disconnects or the upstream timeout passes. */
  signal: AbortSignal;
  /** Headers of this call only (the W3C traceparent), sent beside the provider's own; absent when none. */
  headers?: Record<string, string>;
}

export interface ChatResult {
  response: ChatResponse;
  /** Usage as the provider reported it; undefined if it reported none. */
  usage: Usage | undefined;
  /** Settings the provider does not support and ignored, for the client to see. */
  warnings: string[];
}

export interface ChatStream {
  /**
   * OpenAI chunks in batches, in order: a batch holds the chunks that arrived together (one read of the provider's
   * body), so a consumer pays one await per read rather than per chunk. Batches are never empty. The last chunk
   * carries `usage` (with empty choices) when the provider reported it.
   */
  batches: AsyncIterable<ChatChunk[]>;
  /** Resolves when the stream has ended (or failed): the usage the provider reported, if any. */
  usage(): Usage | undefined;
  warnings: string[];
}

export interface EmbeddingResult {
  response: EmbeddingResponse;
  usage: Usage | undefined;
}

/** OpenAI's Responses API passed through: the Response object as the provider sent it. */
export interface ResponsesResult {
  response: Record<string, unknown> & { model?: string };
  usage: Usage | undefined;
  warnings: string[];
}

/** One Responses SSE event as the provider sent it (the whole `event:`/`data:` message); `model` when the event named it. */
export interface ResponsesEvent {
  text: string;
  model: string | undefined;
}

export interface ResponsesStream {
  batches: AsyncIterable<ResponsesEvent[]>;
  usage(): Usage | undefined;
  warnings: string[];
}

export interface ProviderAdapter {
  readonly name: string;
  readonly type: ProviderType;
  chat(call: ProviderCall<ChatRequest>): Promise<ChatResult>;
  chatStream(call: ProviderCall<ChatRequest>): Promise<ChatStream>;
  /** Absent when the provider has no embeddings API. */
  embed?(call: ProviderCall<EmbeddingRequest>): Promise<EmbeddingResult>;
  /** OpenAI's own Responses API, for a body in its shape (model already pinned); only OpenAI itself has it. */
  responses?(call: ProviderCall<Record<string, unknown>>): Promise<ResponsesResult>;
  responsesStream?(call: ProviderCall<Record<string, unknown>>): Promise<ResponsesStream>;
}

/** What every adapter gets from the outside: where to send, with which credential, through which HTTP client. */
export interface ProviderSettings {
  name: string;
  type: ProviderType;
  baseUrl?: string;
  apiKey?: string;
  timeoutMs: number;
  /** Extra headers sent upstream (e.g. api-version for Azure-style hosts). */
  headers?: Record<string, string>;
  /** OpenAI and OpenAI-compatible hosts: whether POST /v1/responses passes through to the host's own /v1/responses. */
  responsesApi?: 'native' | 'translated';
  /** Mock only: simulated latency and output length. */
  mock?: { latencyMs: number; outputTokens: number; tokenDelayMs: number };
}
