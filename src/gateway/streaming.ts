// Writes a provider stream to the client as SSE, hashing what is sent; keeps reading after a client leaves so the stream is still metered.
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { ChatChunk, ChatRequest } from '../core/chat-types.js';
import { CovenantError } from '../core/errors.js';
import { formatMicros } from '../core/money.js';
import { rawJsonOf } from '../providers/raw-json.js';
import type { ChatStream } from '../providers/types.js';
import type { CallContext } from './context.js';
import type { Gateway } from './gateway.js';

/** Turns the provider's chunks into the SSE frames of one client API (OpenAI or Anthropic). */
export interface StreamFormat {
  frames(chunks: AsyncIterable<ChatChunk>): AsyncIterable<string>;
  /** The frame that ends a successful stream ('' for none). */
  done: string;
  errorFrame(error: CovenantError): string;
}

/** A compact JSON object whose text ends with this has `usage: null` as its last top-level member. */
const nullUsageMember = ',"usage":null}';

/** OpenAI's format: `data: {chunk}` frames and `data: [DONE]`; the usage chunk only for clients that asked for it. */
export function openAIStreamFormat(clientRequest: ChatRequest): StreamFormat {
  const wantsUsage = clientRequest.stream_options?.include_usage === true;
  return {
    async *frames(chunks) {
      for await (const chunk of chunks) {
        if (chunk.usage && chunk.choices.length === 0 && !wantsUsage) continue;
        // A provider's chunk goes out as the text it sent, less the `"usage":null` the gateway's include_usage added.
        const raw = rawJsonOf(chunk);
        if (!wantsUsage && chunk.usage !== undefined) {
          if (chunk.usage === null && raw?.endsWith(nullUsageMember)) {
            yield `data: ${raw.slice(0, -nullUsageMember.length)}}\n\n`;
            continue;
          }
          const { usage: _usage, ...rest } = chunk;
          yield `data: ${JSON.stringify(rest)}\n\n`;
          continue;
        }
        yield `data: ${raw ?? JSON.stringify(chunk)}\n\n`;
      }
    },
    done: 'data: [DONE]\n\n',
    errorFrame: (error) => `data: ${JSON.stringify(error.toBody())}\n\n`,
  };
}

/** Observe the chunks going by: the upstream model id and fingerprint as returned. */
async function* observe(context: CallContext, chunks: AsyncIterable<ChatChunk>): AsyncGenerator<ChatChunk> {
  for await (const chunk of chunks) {
    if (context.upstreamModel === null && chunk.model) context.upstreamModel = chunk.model;
    if (context.systemFingerprint === null && chunk.system_fingerprint) context.systemFingerprint = chunk.system_fingerprint;
    yield chunk;
  }
}

export async function pipeStream(gateway: Gateway, context: CallContext, raw: ServerResponse, stream: ChatStream, format: StreamFormat): Promise<void> {
  let clientGone = false;
  raw.on('close', () => {
    if (!raw.writableFinished) clientGone = true;
  });
  const hash = createHash('sha256');
  const headers: Record<string, string> = {
    ...context.responseHeaders,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    trailer: 'x-covenant-cost-usd',
  };
  if (stream.warnings.length > 0) headers['x-covenant-warnings'] = stream.warnings.join('; ').slice(0, 1000);
  raw.writeHead(200, headers);
  // Content retention needs the text; otherwise only the hash is kept.
  const keep = context.department.retention.content !== 'none';
  const frames: string[] = [];
  // The frames one upstream read yields arrive in successive microtasks: cork until they are all written, so they
  // leave in one system call instead of one each.
  let corked = false;
  const uncork = () => {
    corked = false;
    raw.uncork();
  };
  /** Hold what is written until the end of this tick, then send it in one write. */
  const corkThisTick = () => {
    if (corked) return;
    corked = true;
    raw.cork();
    process.nextTick(uncork);
  };
  const write = (frame: string) => {
    hash.update(frame);
    if (keep) frames.push(frame);
    if (clientGone || raw.destroyed) return;
    corkThisTick();
    raw.write(frame);
  };

  let failure: CovenantError | undefined;
  try {
    for await (const frame of format.frames(observe(context, stream.chunks))) write(frame);
  } catch (error) {
    failure = error instanceof CovenantError ? error : new CovenantError('upstream_error', (error as Error).message);
  }
  context.responseHash = hash.digest('hex');
  if (keep) context.responseText = frames.join('');
  if (failure) {
    // The provider may already have billed what it generated: meter the worst case rather than release.
    context.status = failure.status;
    context.state.streamError = failure;
  }
  let last = failure ? format.errorFrame(failure) : format.done;
  try {
    await gateway.complete(context, stream.usage(), clientGone);
  } catch (error) {
    // The ledger could not record the stream: it ends with that error instead of a clean finish.
    last = format.errorFrame(error instanceof CovenantError ? error : new CovenantError('internal_error'));
  }
  if (!raw.destroyed) {
    // The last frame, the trailer and the end of the chunked body leave in one system call.
    corkThisTick();
    if (last && !clientGone) raw.write(last);
    raw.addTrailers({ 'x-covenant-cost-usd': formatMicros(context.costMicros) });
    raw.end();
  }
}
