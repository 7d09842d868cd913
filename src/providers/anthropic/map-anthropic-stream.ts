// Anthropic SSE events -> OpenAI ChatChunks (text, tool-call deltas, a final usage chunk); keeps the usage seen so far.
import type { ChatChunk, ChatDelta, FinishReason, Usage } from '../../core/chat-types.js';
import { usageToOpenAI } from '../../core/chat-types.js';
import { CovenantError } from '../../core/errors.js';
import type { SseMessage } from '../sse.js';
import { translateBatches } from '../stream-batches.js';
import { anthropicStreamEventSchema, knownStreamEvents, parseWire, type AnthropicStreamEvent } from './anthropic-api-schema.js';
import { mapAnthropicStopReason, mapAnthropicUsage, type AnthropicUsageCounts } from './map-anthropic-response.js';

/**
 * One stream's translation state. `usage()` is current at every point, so a stream the client
 * abandons (or the provider cuts) is still metered for what was reported before the end.
 */
export class AnthropicStreamMapper {
  private id = '';
  private model = '';
  private counts: AnthropicUsageCounts | undefined;
  private finishReason: FinishReason | null = null;
  /** Anthropic content-block index -> OpenAI tool_calls index, for tool_use blocks. */
  private readonly toolIndexByBlock = new Map<number, number>();
  private finished = false;

  constructor(private readonly provider: string, private readonly created: number) {}

  usage(): Usage | undefined {
    return this.counts ? mapAnthropicUsage(this.counts) : undefined;
  }

  /**
   * Translate a whole stream, batch by batch (the events of one read give one batch of chunks); throws a
   * CovenantError on an `error` event, bad data or an early end, after the chunks of the events before it.
   */
  async *map(batches: AsyncIterable<SseMessage[]>): AsyncGenerator<ChatChunk[]> {
    const complete = yield* translateBatches<SseMessage, ChatChunk>(batches, (message, chunks) => {
      this.push(message, chunks);
      return this.finished;
    });
    if (!complete) throw new CovenantError('upstream_error', `Provider "${this.provider}" ended the stream before message_stop.`);
  }

  /** Translate one SSE message, adding its chunks to `chunks`. */
  private push(message: SseMessage, chunks: ChatChunk[]): void {
    // Unknown event names are skipped (https://docs.anthropic.com/en/api/versioning: new event types may appear).
    if (!knownStreamEvents.has(message.event)) return;
    let data: unknown;
    try {
      data = JSON.parse(message.data);
    } catch {
      throw new CovenantError('upstream_error',
        `Provider "${this.provider}" sent a "${message.event}" stream event that is not JSON: ${message.data.slice(0, 200)}`);
    }
    const event = parseWire(anthropicStreamEventSchema, data, this.provider, `"${message.event}" stream event`);
    for (const chunk of this.translate(event)) chunks.push(chunk);
  }

  /** Translate one event into zero or more chunks. */
  *translate(event: AnthropicStreamEvent): Generator<ChatChunk> {
    switch (event.type) {
      case 'message_start':
        this.id = event.message.id;
        this.model = event.message.model;
        this.counts = { ...event.message.usage };
        yield this.chunk({ role: 'assistant', content: '' });
        return;
      case 'content_block_start': {
        const block = event.content_block;
        if (block.type === 'text' && (block.text as string).length > 0) yield this.chunk({ content: block.text as string });
        if (block.type === 'thinking' && (block.thinking as string).length > 0) yield this.chunk({ reasoning_content: block.thinking as string });
        if (block.type === 'tool_use') {
          const toolIndex = this.toolIndexByBlock.size;
          this.toolIndexByBlock.set(event.index, toolIndex);
          // Streamed tool input arrives as input_json_delta; a non-empty input here is sent whole.
          const input = block.input && typeof block.input === 'object' && Object.keys(block.input).length > 0
            ? JSON.stringify(block.input) : '';
          yield this.chunk({ tool_calls: [{ index: toolIndex, id: block.id as string, type: 'function',
            function: { name: block.name as string, arguments: input } }] });
        }
        return;
      }
      case 'content_block_delta': {
        const delta = event.delta;
        if (delta.type === 'text_delta') yield this.chunk({ content: delta.text as string });
        else if (delta.type === 'thinking_delta') yield this.chunk({ reasoning_content: delta.thinking as string });
        else if (delta.type === 'input_json_delta') {
          const toolIndex = this.toolIndexByBlock.get(event.index);
          if (toolIndex === undefined) {
            throw new CovenantError('upstream_error', `Provider "${this.provider}" sent input_json_delta for block ${event.index}, which is not a tool_use block.`);
          }
          if ((delta.partial_json as string).length > 0) {
            yield this.chunk({ tool_calls: [{ index: toolIndex, function: { arguments: delta.partial_json as string } }] });
          }
        }
        return;
      }
      case 'message_delta': {
        // message_delta usage is cumulative: output_tokens replaces; the other counters replace when present.
        const usage = event.usage;
        const counts: AnthropicUsageCounts = { ...this.counts, output_tokens: usage.output_tokens };
        if (usage.input_tokens != null) counts.input_tokens = usage.input_tokens;
        if (usage.cache_read_input_tokens != null) counts.cache_read_input_tokens = usage.cache_read_input_tokens;
        if (usage.cache_creation_input_tokens != null) counts.cache_creation_input_tokens = usage.cache_creation_input_tokens;
        if (usage.output_tokens_details != null) counts.output_tokens_details = usage.output_tokens_details;
        this.counts = counts;
        this.finishReason = mapAnthropicStopReason(event.delta.stop_reason);
        return;
      }
      case 'message_stop': {
        this.finished = true;
        yield { ...this.chunk({}), choices: [{ index: 0, delta: {}, finish_reason: this.finishReason ?? 'stop', logprobs: null }] };
        const usage = this.usage();
        if (usage) yield { ...this.chunk({}), choices: [], usage: usageToOpenAI(usage) };
        return;
      }
      case 'error':
        throw new CovenantError('upstream_error',
          `Provider "${this.provider}" reported an error mid-stream (${event.error.type}): ${event.error.message}`);
      default:
        return; // ping, content_block_stop: nothing to send
    }
  }

  private chunk(delta: ChatDelta): ChatChunk {
    return {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices: [{ index: 0, delta, finish_reason: null, logprobs: null }],
    };
  }
}
