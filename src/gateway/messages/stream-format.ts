// The Anthropic SSE format for the gateway's pipeStream: frames of Anthropic events, and Anthropic's error event.
import type { Usage } from '../../core/chat-types.js';
import type { StreamFormat } from '../streaming.js';
import { covenantErrorToAnthropic } from './error-to-anthropic.js';
import { chatChunksToAnthropicEvents, formatSseEvent } from './stream-from-chat.js';

/**
 * What POST /v1/messages hands to pipeStream. Failures propagate out of `frames` (so pipeStream meters
 * them and writes `errorFrame`); message_stop ends a good stream, so there is no separate done frame.
 * @example await pipeStream(gateway, context, reply.raw, stream, anthropicStreamFormat(clientRequest.model, stream.usage))
 */
export function anthropicStreamFormat(requestedModel: string, usage?: () => Usage | undefined): StreamFormat {
  return {
    async *frames(chunks) {
      for await (const event of chatChunksToAnthropicEvents(chunks, requestedModel, { usage, rethrow: true })) {
        yield formatSseEvent(event);
      }
    },
    done: '',
    errorFrame: (error) => formatSseEvent({ event: 'error', data: { ...covenantErrorToAnthropic(error) } }),
  };
}
