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
  /**
   * Rethrow a failure after the events already produced, instead of ending with an `error` event:
   * for a caller that meters failures itself and writes its own error frame (see anthropicStreamFormat).
   */
  rethrow?: boolean;
}

type OpenBlock = { kind: 'text'; index: number } | { kind: 'tool'; index: number; toolIndex: number };

/**
 * Translate a chat stream for an Anthropic client. A failure before the first chunk is thrown (the gateway
 * can still answer with an HTTP error); a failure after it becomes an `error` event, as Anthropic's API
 * sends mid-stream, and the stream ends (unless `rethrow`). Tool calls are expected in order, as every provider sends them.
 * @example for await (const {event, data} of chatChunksToAnthropicEvents(stream.chunks, 'fast')) write(formatSseEvent({event, data}))
 */
export async function* chatChunksToAnthropicEvents(
  chunks: AsyncIterable<ChatChunk>, model: string, options: StreamTranslationOptions = {},
): AsyncGenerator<AnthropicSseEvent> {
  let started = false;
  let open: OpenBlock | undefined;
  let nextIndex = 0;
  let finishReason: FinishReason | null = null;
  let chunkUsage: Usage | undefined;
  /** OpenAI tool_calls index -> Anthropic content block index. */
  const blockOfTool = new Map<number, number>();

  const start = (chunk: ChatChunk | undefined): AnthropicSseEvent => {
    started = true;
    const id = options.messageId ?? toAnthropicMessageId(chunk?.id || 'covenant');
    const usage = { ...toAnthropicUsage(undefined), input_tokens: options.inputTokens ?? 0 };
    return { event: 'message_start', data: { type: 'message_start', message: {
      id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage,
    } } };
  };
  function* close(): Generator<AnthropicSseEvent> {
    if (open) yield { event: 'content_block_stop', data: { type: 'content_block_stop', index: open.index } };
    open = undefined;
  }
  function* openBlock(block: OpenBlock, contentBlock: Record<string, unknown>): Generator<AnthropicSseEvent> {
    yield* close();
    open = block;
    nextIndex = block.index + 1;
    yield { event: 'content_block_start', data: { type: 'content_block_start', index: block.index, content_block: contentBlock } };
  }

  try {
    for await (const chunk of chunks) {
      if (!started) yield start(chunk);
      if (chunk.usage) chunkUsage = usageFromOpenAI(chunk.usage);
      const choice = chunk.choices.find((candidate) => candidate.index === 0);
      if (!choice) continue;
      const delta = choice.delta ?? {};
      const text = (typeof delta.content === 'string' ? delta.content : '') + (typeof delta.refusal === 'string' ? delta.refusal : '');
      if (text.length > 0) {
        if (open?.kind !== 'text') yield* openBlock({ kind: 'text', index: nextIndex }, { type: 'text', text: '' });
        yield { event: 'content_block_delta', data: { type: 'content_block_delta', index: open!.index, delta: { type: 'text_delta', text } } };
      }
      for (const call of delta.tool_calls ?? []) {
        let index = blockOfTool.get(call.index);
        if (index === undefined) {
          index = nextIndex;
          blockOfTool.set(call.index, index);
          yield* openBlock({ kind: 'tool', index, toolIndex: call.index }, {
            type: 'tool_use', id: call.id ?? `toolu_${index}`, name: call.function?.name ?? '', input: {},
          });
        }
        const partial = call.function?.arguments ?? '';
        if (partial.length > 0) {
          yield { event: 'content_block_delta', data: { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: partial } } };
        }
      }
      if (choice.finish_reason) finishReason = choice.finish_reason;
    }
  } catch (error) {
    if (!started || options.rethrow) throw error;
    yield { event: 'error', data: { ...covenantErrorToAnthropic(error) } };
    return;
  }

  if (!started) yield start(undefined);
  yield* close();
  const usage = toAnthropicUsage(options.usage?.() ?? chunkUsage);
  yield { event: 'message_delta', data: {
    type: 'message_delta',
    delta: { stop_reason: toAnthropicStopReason(finishReason), stop_sequence: null },
    usage,
  } };
  yield { event: 'message_stop', data: { type: 'message_stop' } };
}

/** One SSE message on the wire (WHATWG HTML §9.2): an event line, a data line, a blank line. */
export function formatSseEvent(event: AnthropicSseEvent): string {
  return `event: ${event.event}\ndata: ${JSON.stringify(event.data)}\n\n`;
}
