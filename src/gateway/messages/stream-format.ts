// The Anthropic SSE format for the gateway's pipeStream: frames of Anthropic events, and Anthropic's error event.
import type { Usage } from '../../core/chat-types.js';
import type { StreamFormat } from '../streaming.js';
import { covenantErrorToAnthropic } from './error-to-anthropic.js';
import { ChatToAnthropicEvents, formatSseEvent, type AnthropicSseEvent } from './stream-from-chat.js';

const frames = (events: readonly AnthropicSseEvent[]): string => {
  let text = '';
  for (const event of events) text += formatSseEvent(event);
  return text;
};

/**
 * What POST /v1/messages hands to pipeStream: each chunk's Anthropic events as SSE text; message_delta (with the
 * usage the stream reported) and message_stop end a good stream; a failure gets Anthropic's `error` event. `model` is
 * what message_start names (a function is read when the first chunk has come).
 * @example await pipeStream(gateway, context, reply.raw, stream, anthropicStreamFormat(clientRequest.model, stream.usage))
 */
export function anthropicStreamFormat(model: string | (() => string), usage?: () => Usage | undefined): StreamFormat {
  const translation = new ChatToAnthropicEvents(model, { usage });
  return {
    frame: (chunk) => frames(translation.push(chunk)),
    end: () => frames(translation.finish()),
    errorFrame: (error) => formatSseEvent({ event: 'error', data: { ...covenantErrorToAnthropic(error) } }),
  };
}
