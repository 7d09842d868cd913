// The Responses SSE formats for the gateway's pipeStream: chat chunks translated to Responses events, or OpenAI's own events passed through.
import type { Usage } from '../../core/chat-types.js';
import type { CovenantError } from '../../core/errors.js';
import type { ResponsesEvent } from '../../providers/types.js';
import type { StreamFormat } from '../streaming.js';
import type { ResponsesRequest } from './responses-request-schema.js';
import { ChatToResponsesEvents, formatResponsesEvent, type ResponsesSseEvent } from './stream-from-chat.js';

const frames = (events: readonly ResponsesSseEvent[]): string => {
  let text = '';
  for (const event of events) text += formatResponsesEvent(event);
  return text;
};

/**
 * What POST /v1/responses hands to pipeStream for a translated provider: each chunk's Responses events as SSE text;
 * the open item's done events and response.completed (with the usage the stream reported) end a good stream; a
 * failure gets `error` and response.failed.
 * @example await pipeStream(gateway, context, reply.raw, stream, responsesStreamFormat(version, stream.usage, request))
 */
export function responsesStreamFormat(model: string, usage?: () => Usage | undefined, request?: ResponsesRequest, createdAt?: number): StreamFormat {
  const translation = new ChatToResponsesEvents(model, { usage, request, createdAt });
  return {
    frame: (chunk) => frames(translation.push(chunk)),
    end: () => frames(translation.finish()),
    errorFrame: (error) => frames(translation.fail(error)),
  };
}

/**
 * OpenAI's own Responses events, each sent as the text OpenAI sent (the adapter hands them over where chat chunks
 * would be). OpenAI's stream has no end marker; a failure of the gateway's own gets an `error` event numbered after
 * the last event passed on (sequence numbers count up from 0).
 */
export function nativeResponsesStreamFormat(): StreamFormat {
  let count = 0;
  return {
    frame(chunk) {
      count++;
      return (chunk as unknown as ResponsesEvent).text;
    },
    end: () => '',
    errorFrame: (error: CovenantError) => formatResponsesEvent({ type: 'error', code: error.code, message: error.message, param: error.param, sequence_number: count }),
  };
}
