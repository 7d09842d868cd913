// Writes a provider stream to the client as SSE, hashing what is sent; after a client leaves it keeps reading so the stream is metered, or stops the upstream when told to cancel.
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { ChatChunk, ChatRequest } from '../core/chat-types.js';
import { CovenantError } from '../core/errors.js';
import { formatMicros } from '../core/money.js';
import type { ChatStream } from '../providers/types.js';
import { nullUsageMember, WireChunk } from '../providers/wire-chunk.js';
import type { CallContext } from './context.js';
import type { Pipeline } from './pipeline.js';
import { carriesOutput, credibleUsage } from './stream-usage.js';
import { gatherShadowText } from './shadow.js';

/** Turns the provider's chunks into the SSE frames of one client API (OpenAI or Anthropic), one chunk at a time. */
export interface StreamFormat {
  /** The SSE text for one chunk ('' for none); may keep state from chunk to chunk. */
  frame(chunk: ChatChunk): string;
  /** The text that ends a good stream, after its last chunk ('' for none). */
  end(): string;
  errorFrame(error: CovenantError): string;
}

/** OpenAI's format: `data: {chunk}` frames and `data: [DONE]`; the usage chunk only for clients that asked for it. */
export function openAIStreamFormat(clientRequest: ChatRequest): StreamFormat {
  const wantsUsage = clientRequest.stream_options?.include_usage === true;
  return {
    frame(chunk) {
      // A provider's chunk goes out as the text it sent, less the `"usage":null` the gateway's include_usage added.
      // (Chunks that other adapters build have no text: they are serialised.)
      const raw = chunk instanceof WireChunk ? chunk.raw : undefined;
      if (raw !== undefined && (wantsUsage || (chunk as WireChunk).withoutUsage)) {
        return wantsUsage || !raw.endsWith(nullUsageMember) ? `data: ${raw}\n\n` : `data: ${raw.slice(0, -nullUsageMember.length)}}\n\n`;
      }
      const plain = raw !== undefined ? (chunk as WireChunk).parsed : chunk;
      if (wantsUsage || plain.usage === undefined) return `data: ${raw ?? JSON.stringify(plain)}\n\n`;
      if (plain.usage && plain.choices.length === 0) return '';
      const { usage: _usage, ...rest } = plain;
      return `data: ${JSON.stringify(rest)}\n\n`;
    },
    end: () => 'data: [DONE]\n\n',
    errorFrame: (error) => `data: ${JSON.stringify(error.toBody())}\n\n`,
  };
}

/** Whether a chunk carries output (text, a refusal or a tool call), as opposed to a role, a finish reason or usage. */
function hasOutput(chunk: ChatChunk): boolean {
  // A native event of another API (a Responses API event) stands where a chunk would: its deltas are its output.
  if (chunk.choices === undefined) return typeof (chunk as { delta?: unknown }).delta === 'string';
  for (const choice of chunk.choices) {
    const delta = choice.delta;
    if (delta && (delta.content || delta.refusal || (delta.tool_calls && delta.tool_calls.length > 0))) return true;
  }
  return false;
}

/** The x-covenant-warnings value: the route's translation warnings (if any) then the provider's, bounded in length. */
export function withWarnings(translation: string | undefined, provider: readonly string[]): string {
  const text = provider.join('; ');
  return headerSafe((translation ? `${translation}; ${text}` : text).slice(0, 1000));
}

/**
 * Text fit for a header value: warnings quote field names from the client's body, and a character outside printable
 * ASCII (a lone surrogate, a control character) would make Node refuse the whole answer. Each becomes `\uXXXX`.
 */
export function headerSafe(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Write a provider's stream to the client (already hijacked from the server) and complete the call once it ends;
 * the pipeline's `run` calls it for streamed chat calls.
 */
export async function pipeStream(pipeline: Pipeline, context: CallContext, raw: ServerResponse, stream: ChatStream, format: StreamFormat, upstreamAbort?: AbortController): Promise<void> {
  let clientGone = false;
  // Set when the client left before the upstream finished and `upstreamAbort` stopped it.
  let cancelled = false;
  let ended = false;
  raw.on('close', () => {
    if (raw.writableFinished) return;
    clientGone = true;
    if (upstreamAbort && !ended) {
      cancelled = true;
      upstreamAbort.abort();
    }
  });
  const hash = createHash('sha256');
  const headers: Record<string, string> = {
    ...context.responseHeaders,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    trailer: 'x-covenant-cost-usd',
  };
  if (stream.warnings.length > 0) headers['x-covenant-warnings'] = withWarnings(context.responseHeaders['x-covenant-warnings'], stream.warnings);
  raw.writeHead(200, headers);
  // Content retention needs the text; otherwise only the hash is kept.
  const keep = context.department.retention.content !== 'none';
  const frames: string[] = [];
  // The frames of one batch (one upstream read) are gathered and sent as one write at the end of the tick (one chunk
  // of the chunked body, one system call). They are hashed together too, and kept for the ledger even when the
  // client has gone. When the provider's stream ends within that tick (its last read), what is gathered waits for the
  // end of the response instead, so the last frames and the end leave in one write.
  let pending = '';
  let held = '';
  const flush = () => {
    const text = pending;
    pending = '';
    if (text.length === 0) return;
    hash.update(text);
    if (keep) frames.push(text);
    if (ended) held += text;
    else if (!clientGone && !raw.destroyed && !raw.writableEnded) raw.write(text);
  };
  const write = (text: string) => {
    if (text.length === 0) return;
    if (pending.length === 0) process.nextTick(flush);
    pending += text;
  };

  let failure: CovenantError | undefined;
  // The last chunk seen: a provider that names its fingerprint only at the end (with usage) is read there, once.
  let lastChunk: ChatChunk | undefined;
  // Chunks of output sent: a usage reporting fewer output tokens contradicts the stream (stream-usage.ts).
  let outputChunks = 0;
  try {
    for await (const batch of stream.batches) {
      lastChunk = batch[batch.length - 1];
      for (const chunk of batch) {
        // The upstream model id and fingerprint as returned, from the first chunk that names the model (reading a
        // field of a chunk passed through as text parses it: once per stream, not per chunk).
        if (context.upstreamModel === null) {
          if (chunk.model) context.upstreamModel = chunk.model;
          if (context.systemFingerprint === null && chunk.system_fingerprint) context.systemFingerprint = chunk.system_fingerprint;
        }
        // Time to first token: one branch per chunk once known (reading a chunk's choices parses it, so only until then).
        if (context.ttftMs === null && hasOutput(chunk)) context.ttftMs = performance.now() - context.startedAt;
        if (carriesOutput(chunk)) outputChunks += 1;
        gatherShadowText(context, chunk);
        write(format.frame(chunk));
      }
      if (cancelled) break;
    }
  } catch (error) {
    // A cancelled upstream ends with its abort error: that is the cancellation, not a provider failure.
    if (!cancelled) failure = error instanceof CovenantError ? error : new CovenantError('upstream_error', (error as Error).message);
  }
  ended = true;
  // A chunk passed through as text that never names the field is not parsed for it (providers that send no fingerprint).
  if (context.systemFingerprint === null && lastChunk !== undefined && !(lastChunk instanceof WireChunk && !lastChunk.raw.includes('"system_fingerprint"'))
    && lastChunk.system_fingerprint) context.systemFingerprint = lastChunk.system_fingerprint;
  flush();
  let last: string;
  if (failure) {
    // The provider may already have billed what it generated: meter the worst case rather than release.
    context.status = failure.status;
    context.streamError = failure;
    last = format.errorFrame(failure);
  } else {
    // The end of a good stream ([DONE], or Anthropic's message_delta and message_stop) is part of what is recorded,
    // so the hash is of the exact bytes a client receives; it is sent once the ledger holds the entry.
    last = format.end();
    hash.update(last);
    if (keep) frames.push(last);
  }
  context.responseHash = hash.digest('hex');
  if (keep) context.responseText = frames.join('');
  try {
    // Cancelled: what the provider billed for the part it generated is unknown, so the reserved worst case is settled.
    await pipeline.complete(context, cancelled ? undefined : credibleUsage(stream.usage(), outputChunks), clientGone, cancelled);
  } catch (error) {
    // The ledger could not record the stream: it ends with that error instead of a clean finish.
    last = format.errorFrame(error instanceof CovenantError ? error : new CovenantError('internal_error'));
  }
  if (!raw.destroyed) {
    // What is still gathered, the last frame, the trailer and the end of the chunked body leave in one system call.
    raw.cork();
    if (!clientGone && held.length + last.length > 0) raw.write(held + last);
    raw.addTrailers({ 'x-covenant-cost-usd': formatMicros(context.costMicros) });
    raw.end();
    raw.uncork();
  }
}
