// Gemini streamGenerateContent?alt=sse events -> OpenAI ChatChunks (text, whole tool calls, finish, a final usage chunk).
import type { ChatChunk, ChatChunkChoice, ChatDelta, ChunkToolCall, Usage } from '../../core/chat-types.js';
import { usageToOpenAI } from '../../core/chat-types.js';
import { CovenantError } from '../../core/errors.js';
import type { SseMessage } from '../sse.js';
import { translateBatches } from '../stream-batches.js';
import { geminiResponseSchema, geminiStreamErrorSchema, parseGeminiWire, type GeminiResponse, type GeminiUsage } from './gemini-api-schema.js';
import { isAnswerText, mapGeminiFinishReason, mapGeminiUsage, toolCallFromPart, type GeminiMappingContext } from './map-gemini-response.js';

interface CandidateState { started: boolean; toolCalls: number; finished: boolean }

/**
 * One stream's translation state. Each event is a whole GenerateContentResponse holding the next piece of
 * text (function calls arrive whole) and the usage so far; `usage()` is current at every point, so a stream
 * the client abandons is still metered for what was reported before the end.
 */
export class GeminiStreamMapper {
  private id: string;
  private model: string;
  private counts: GeminiUsage | undefined;
  private readonly candidates = new Map<number, CandidateState>();
  private blocked = false;

  constructor(private readonly provider: string, private readonly context: GeminiMappingContext) {
    this.id = context.id;
    this.model = context.model;
  }

  usage(): Usage | undefined {
    return this.counts ? mapGeminiUsage(this.counts) : undefined;
  }

  /**
   * Translate a whole stream, batch by batch (the events of one read give one batch of chunks); throws a
   * CovenantError on an error event, bad data or an end before any finish reason, after the chunks of the events
   * before it. The usage chunk comes last, in a batch of its own.
   */
  async *map(batches: AsyncIterable<SseMessage[]>): AsyncGenerator<ChatChunk[]> {
    yield* translateBatches<SseMessage, ChatChunk>(batches, (message, chunks) => {
      this.push(message, chunks);
      return false;
    });
    const states = [...this.candidates.values()];
    if (!this.blocked && (states.length === 0 || states.some((state) => !state.finished))) {
      throw new CovenantError('upstream_error', `Provider "${this.provider}" ended the stream before a finish reason.`);
    }
    const usage = this.usage();
    if (usage) yield [{ ...this.chunk([]), usage: usageToOpenAI(usage) }];
  }

  /** Translate one SSE message, adding its chunks to `chunks`. */
  private push(message: SseMessage, chunks: ChatChunk[]): void {
    let data: unknown;
    try {
      data = JSON.parse(message.data);
    } catch {
      throw new CovenantError('upstream_error', `Provider "${this.provider}" sent a stream event that is not JSON: ${message.data.slice(0, 200)}`);
    }
    const failure = geminiStreamErrorSchema.safeParse(data);
    if (failure.success) {
      throw new CovenantError('upstream_error', `Provider "${this.provider}" failed mid-stream: ${failure.data.error.message ?? failure.data.error.status ?? 'unknown error'}`);
    }
    for (const chunk of this.translate(parseGeminiWire(geminiResponseSchema, data, this.provider, 'stream event'))) chunks.push(chunk);
  }

  /** Translate one event into zero or more chunks. */
  *translate(event: GeminiResponse): Generator<ChatChunk> {
    if (event.responseId) this.id = `chatcmpl-${event.responseId}`;
    if (event.modelVersion) this.model = event.modelVersion;
    if (event.usageMetadata) this.counts = event.usageMetadata;
    const candidates = event.candidates ?? [];
    if (candidates.length === 0 && event.promptFeedback?.blockReason && !this.blocked) {
      this.blocked = true;
      yield this.chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: 'content_filter', logprobs: null }]);
      return;
    }
    for (const [position, candidate] of candidates.entries()) {
      const index = candidate.index ?? position;
      let state = this.candidates.get(index);
      if (!state) {
        state = { started: false, toolCalls: 0, finished: false };
        this.candidates.set(index, state);
      }
      if (state.finished) continue;
      const parts = candidate.content?.parts ?? [];
      const text = parts.filter(isAnswerText).map((part) => part.text).join('');
      const toolCalls: ChunkToolCall[] = parts.filter((part) => part.functionCall).map((part) => ({
        index: state.toolCalls++,
        ...toolCallFromPart(part, part.functionCall?.id ?? this.context.newToolCallId()),
      }));
      const delta: ChatDelta = {};
      if (!state.started) {
        delta.role = 'assistant';
        delta.content = text;
        state.started = true;
      } else if (text !== '') {
        delta.content = text;
      }
      if (toolCalls.length > 0) delta.tool_calls = toolCalls;
      if (Object.keys(delta).length > 0) yield this.chunk([{ index, delta, finish_reason: null, logprobs: null }]);
      if (candidate.finishReason) {
        state.finished = true;
        yield this.chunk([{ index, delta: {}, finish_reason: mapGeminiFinishReason(candidate.finishReason, state.toolCalls > 0), logprobs: null }]);
      }
    }
  }

  private chunk(choices: ChatChunkChoice[]): ChatChunk {
    return { id: this.id, object: 'chat.completion.chunk', created: this.context.created, model: this.model, choices };
  }
}
