// POST /v1/messages streaming egress: OpenAI ChatChunks -> Anthropic's SSE event sequence
// (https://docs.anthropic.com/en/docs/build-with-claude/streaming): message_start, content blocks, message_delta, message_stop.
import type { ChatChunk, FinishReason, Usage } from '../../core/chat-types.js';
import { usageFromOpenAI } from '../../core/chat-types.js';
import { covenantErrorToAnthropic } from './error-to-anthropic.js';
import { toAnthropicMessageId, toAnthropicStopReason, toAnthropicUsage } from './response-from-chat.js';

export interface AnthropicSseEvent {
  event: string;
  data: Record<string, unknown>;
}

export interface StreamTranslationOptions {
  /** Overrides the message id derived from the first chunk. */
  messageId?: string;
  /** Input tokens to announce in message_start, if the gateway counted them; the final count goes in message_delta. */
  inputTokens?: number;
  /** The adapter's usage accessor (ChatStream.usage): preferred over the chunks' OpenAI usage, as it keeps cache writes. */
  usage?: () => Usage | undefined;
}

type OpenBlock = { kind: 'text'; index: number } | { kind: 'tool'; index: number; toolIndex: number };

/**
 * One stream's translation, chunk by chunk and synchronously (the gateway writes each upstream read's frames at
 * once): `push` each chunk as it comes, then `finish` after the last. Tool calls are expected in order, as every
 * provider sends them.
 */
export class ChatToAnthropicEvents {
  #started = false;
  #open: OpenBlock | undefined;
  #nextIndex = 0;
  #finishReason: FinishReason | null = null;
  #chunkUsage: Usage | undefined;
  /** OpenAI tool_calls index -> Anthropic content block index. */
  readonly #blockOfTool = new Map<number, number>();

  /** `model` is what message_start names: a string, or read when the first chunk has come (the upstream's id, say). */
  constructor(readonly model: string | (() => string), readonly options: StreamTranslationOptions = {}) {}

  /** Whether message_start went out (a failure after it must be an `error` event, not an HTTP error). */
  get started(): boolean {
    return this.#started;
  }

  /** The events one chunk makes (message_start before the first). */
  push(chunk: ChatChunk): AnthropicSseEvent[] {
    const events: AnthropicSseEvent[] = [];
    if (!this.#started) events.push(this.#start(chunk));
    if (chunk.usage) this.#chunkUsage = usageFromOpenAI(chunk.usage);
    const choice = chunk.choices.find((candidate) => candidate.index === 0);
    if (!choice) return events;
    const delta = choice.delta ?? {};
    const text = (typeof delta.content === 'string' ? delta.content : '') + (typeof delta.refusal === 'string' ? delta.refusal : '');
    if (text.length > 0) {
      if (this.#open?.kind !== 'text') this.#openBlock(events, { kind: 'text', index: this.#nextIndex }, { type: 'text', text: '' });
      events.push({ event: 'content_block_delta', data: { type: 'content_block_delta', index: this.#open!.index, delta: { type: 'text_delta', text } } });
    }
    for (const call of delta.tool_calls ?? []) {
      let index = this.#blockOfTool.get(call.index);
      if (index === undefined) {
        index = this.#nextIndex;
        this.#blockOfTool.set(call.index, index);
        this.#openBlock(events, { kind: 'tool', index, toolIndex: call.index }, {
          type: 'tool_use', id: call.id ?? `toolu_${index}`, name: call.function?.name ?? '', input: {},
        });
      }
      const partial = call.function?.arguments ?? '';
      if (partial.length > 0) {
        events.push({ event: 'content_block_delta', data: { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: partial } } });
      }
    }
    if (choice.finish_reason) this.#finishReason = choice.finish_reason;
    return events;
  }

  /** The events that end a good stream: the open block's stop, message_delta with the usage, message_stop. */
  finish(): AnthropicSseEvent[] {
    const events: AnthropicSseEvent[] = [];
    if (!this.#started) events.push(this.#start(undefined));
    this.#close(events);
    const usage = toAnthropicUsage(this.options.usage?.() ?? this.#chunkUsage);
    events.push({ event: 'message_delta', data: {
      type: 'message_delta',
      delta: { stop_reason: toAnthropicStopReason(this.#finishReason), stop_sequence: null },
      usage,
    } });
    events.push({ event: 'message_stop', data: { type: 'message_stop' } });
    return events;
  }

  #start(chunk: ChatChunk | undefined): AnthropicSseEvent {
    this.#started = true;
    const id = this.options.messageId ?? toAnthropicMessageId(chunk?.id || 'covenant');
    const usage = { ...toAnthropicUsage(undefined), input_tokens: this.options.inputTokens ?? 0 };
    return { event: 'message_start', data: { type: 'message_start', message: {
      id, type: 'message', role: 'assistant', model: typeof this.model === 'string' ? this.model : this.model(), content: [], stop_reason: null, stop_sequence: null, usage,
    } } };
  }

  #close(events: AnthropicSseEvent[]): void {
    if (this.#open) events.push({ event: 'content_block_stop', data: { type: 'content_block_stop', index: this.#open.index } });
    this.#open = undefined;
  }

  #openBlock(events: AnthropicSseEvent[], block: OpenBlock, contentBlock: Record<string, unknown>): void {
    this.#close(events);
    this.#open = block;
    this.#nextIndex = block.index + 1;
    events.push({ event: 'content_block_start', data: { type: 'content_block_start', index: block.index, content_block: contentBlock } });
  }
}

/**
 * Translate a chat stream for an Anthropic client. A failure before the first chunk is thrown (the gateway
 * can still answer with an HTTP error); a failure after it becomes an `error` event, as Anthropic's API
 * sends mid-stream, and the stream ends. (The gateway itself uses anthropicStreamFormat, which meters a failure
 * before writing its error frame.)
 * @example for await (const {event, data} of chatChunksToAnthropicEvents(chunks, 'fast')) write(formatSseEvent({event, data}))
 */
export async function* chatChunksToAnthropicEvents(
  chunks: AsyncIterable<ChatChunk>, model: string, options: StreamTranslationOptions = {},
): AsyncGenerator<AnthropicSseEvent> {
  const translation = new ChatToAnthropicEvents(model, options);
  try {
    for await (const chunk of chunks) yield* translation.push(chunk);
  } catch (error) {
    if (!translation.started) throw error;
    yield { event: 'error', data: { ...covenantErrorToAnthropic(error) } };
    return;
  }
  yield* translation.finish();
}

/** One SSE message on the wire (WHATWG HTML §9.2): an event line, a data line, a blank line. */
export function formatSseEvent(event: AnthropicSseEvent): string {
  return `event: ${event.event}\ndata: ${JSON.stringify(event.data)}\n\n`;
}
