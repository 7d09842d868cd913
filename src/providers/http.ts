// Upstream HTTP for every adapter: pooled keep-alive connections (undici), timeouts, and provider errors kept intact.
import { Agent, errors as undiciErrors, type Dispatcher } from 'undici';
import { CovenantError, upstreamError } from '../core/errors.js';
import { keepRawJson } from './raw-json.js';
import { UpstreamBody } from './upstream-body.js';

const agent = new Agent({ keepAliveTimeout: 30_000, connections: 256, pipelining: 1 });

export interface UpstreamRequest {
  provider: string;
  url: string;
  method?: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: unknown;
  signal: AbortSignal;
  timeoutMs: number;
  /** The largest JSON answer taken (default maxAnswerBytes); a larger one is cut off and becomes a 502. */
  maxAnswerBytes?: number;
}

/**
 * The largest JSON answer read from a provider: a provider that sends without end must not take the gateway's
 * memory with it. Generous (2,048 embeddings of 3,072 floats as JSON text are about 130 MB), and below V8's longest
 * string (2^29 characters), which the answer's text must fit in.
 */
export const maxAnswerBytes = 256 * 1024 * 1024;
/** Of a failure answer, only this much is kept for its message. */
const maxFailureBytes = 64 * 1024;

/** A non-2xx answer's first bytes, which hold its message; the rest is not kept. */
class FailureAnswer {
  #chunks: Buffer[] = [];
  #bytes = 0;

  push(chunk: Buffer): void {
    if (this.#bytes >= maxFailureBytes) return;
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
  }

  /** The provider's status and message, also when the answer broke off or was cut here. */
  error(provider: string, status: number): CovenantError {
    return upstreamError(provider, status, extractMessage(Buffer.concat(this.#chunks).toString('utf8')));
  }
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: UpstreamBody;
}

const splitCache = new Map<string, { origin: string; path: string }>();

/** Origin and path of a URL, parsed once per distinct URL (a provider has a handful). */
function splitUrl(url: string): { origin: string; path: string } {
  let split = splitCache.get(url);
  if (!split) {
    const parsed = new URL(url);
    split = { origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` };
    if (splitCache.size > 1000) splitCache.clear();
    splitCache.set(url, split);
  }
  return split;
}

/** What undici needs for a request: the pooled origin, the JSON body, and the provider's timeouts (headers, body gaps). */
function requestOptions(options: UpstreamRequest): Dispatcher.DispatchOptions {
  const { origin, path } = splitUrl(options.url);
  return {
    origin,
    path,
    method: options.method ?? 'POST',
    headers: { 'content-type': 'application/json', ...options.headers },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
  };
}

/**
 * Ties a call's AbortSignal to its undici request: the request is aborted when the signal fires, also when it fired
 * while the request waited for a connection. `release` once the call has ended.
 */
function linkSignal(signal: AbortSignal): { started(controller: { abort(reason: Error): void }): void; release(): void } {
  let controller: { abort(reason: Error): void } | undefined;
  const onAbort = () => controller?.abort(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
  signal.addEventListener('abort', onAbort);
  return {
    started(next) {
      controller = next;
      if (signal.aborted) onAbort();
    },
    release: () => signal.removeEventListener('abort', onAbort),
  };
}

/**
 * Send a JSON request upstream and resolve once its answer starts, with a body to read as it arrives (streams); a
 * non-2xx answer becomes a CovenantError carrying the provider's status and message. Read through a dispatch handler
 * into an UpstreamBody, not a response stream (see upstream-body.ts).
 */
export function sendUpstream(options: UpstreamRequest): Promise<UpstreamResponse> {
  return new Promise<UpstreamResponse>((resolve, reject) => {
    const { provider, signal, timeoutMs } = options;
    if (signal.aborted) {
      reject(translateTransportError(provider, timeoutMs, signal.reason));
      return;
    }
    let body: UpstreamBody | undefined;
    const failure = new FailureAnswer();
    let status = 0;
    let started = false;
    const link = linkSignal(signal);
    const settle = link.release;
    agent.dispatch(requestOptions(options), {
      onRequestStart: link.started,
      onResponseStart(controller, statusCode, headers) {
        status = statusCode;
        started = true;
        if (statusCode < 200 || statusCode >= 300) return;
        // A stream was asked for: a 2xx JSON body or HTML page is a failure (its message kept), not an empty stream.
        const type = headers['content-type'];
        if (type !== undefined && /json|html/i.test(String(type))) {
          status = 502;
          return;
        }
        body = new UpstreamBody(controller);
        resolve({ status, headers, body });
      },
      onResponseData(_controller, chunk) {
        if (body) body.push(chunk);
        else failure.push(chunk);
      },
      onResponseEnd() {
        settle();
        if (body) body.end();
        else reject(failure.error(provider, status));
      },
      onResponseError(_controller, error) {
        settle();
        if (body) body.fail(error);
        // A failure answer that broke off still keeps the provider's status and what arrived of its message.
        else if (started) reject(failure.error(provider, status));
        else reject(translateTransportError(provider, timeoutMs, error, 'request'));
      },
    });
  });
}

/**
 * Send and parse a JSON response; garbage from the provider becomes a 502 that says so. The body is collected by a
 * dispatch handler, not a response stream: no stream machinery per call (see bench/RESULTS.md for what it saves).
 */
export function sendUpstreamJson<T>(options: UpstreamRequest): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const { provider, signal, timeoutMs } = options;
    if (signal.aborted) {
      reject(translateTransportError(provider, timeoutMs, signal.reason));
      return;
    }
    const chunks: Buffer[] = [];
    const failure = new FailureAnswer();
    const limit = options.maxAnswerBytes ?? maxAnswerBytes;
    let received = 0;
    let status = 0;
    let started = false;
    const succeeded = () => status >= 200 && status < 300;
    const link = linkSignal(signal);
    const settle = link.release;
    agent.dispatch(requestOptions(options), {
      onRequestStart: link.started,
      onResponseStart(_controller, statusCode) {
        status = statusCode;
        started = true;
      },
      onResponseData(controller, chunk) {
        if (!succeeded()) {
          failure.push(chunk);
          return;
        }
        received += chunk.length;
        if (received > limit) {
          controller.abort(new CovenantError('upstream_error', `Provider "${provider}" sent an answer larger than ${limit} bytes; it was cut off.`));
          return;
        }
        chunks.push(chunk);
      },
      onResponseEnd() {
        settle();
        if (!succeeded()) {
          reject(failure.error(provider, status));
          return;
        }
        let text: string;
        try {
          text = chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8');
        } catch (error) {
          // Out of memory for the text: the answer is refused, the gateway goes on.
          reject(new CovenantError('upstream_error', `Provider "${provider}" sent an answer that could not be read: ${(error as Error).message}`));
          return;
        }
        let parsed: T;
        try {
          parsed = JSON.parse(text) as T;
        } catch {
          reject(new CovenantError('upstream_error', `Provider "${provider}" returned a body that is not JSON: ${text.slice(0, 200)}`));
          return;
        }
        resolve(keepRawJson(parsed, text));
      },
      onResponseError(_controller, error) {
        settle();
        // A failure answer that broke off still keeps the provider's status and what arrived of its message.
        if (started && !succeeded()) reject(failure.error(provider, status));
        else reject(translateTransportError(provider, timeoutMs, error, started ? 'response' : 'request'));
      },
    });
  });
}

/** `phase` tells whether the failure came while connecting or while reading an answer that had started. */
export function translateTransportError(provider: string, timeoutMs: number, error: unknown, phase: 'request' | 'response' = 'request'): CovenantError {
  if (error instanceof CovenantError) return error;
  if (error instanceof undiciErrors.HeadersTimeoutError || error instanceof undiciErrors.BodyTimeoutError
    || (error instanceof Error && error.name === 'TimeoutError')) {
    return new CovenantError('upstream_timeout', `Provider "${provider}" did not answer within ${timeoutMs} ms.`);
  }
  if (error instanceof Error && (error.name === 'AbortError' || error instanceof undiciErrors.RequestAbortedError)) {
    const reason = (error as { cause?: unknown }).cause;
    if (reason instanceof CovenantError) return reason;
    return new CovenantError('upstream_timeout', `The call to provider "${provider}" was aborted.`);
  }
  const message = error instanceof Error ? error.message : String(error);
  if (phase === 'response') return new CovenantError('upstream_error', `Provider "${provider}" broke off its answer: ${message}`);
  return new CovenantError('upstream_error', `Provider "${provider}" could not be reached: ${message}`);
}

/** Pull the human message out of a provider's error body (OpenAI, Anthropic and Gemini all nest it under `error`). */
export function extractMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: { message?: string } | string; message?: string };
    if (typeof parsed.error === 'string') return parsed.error;
    if (parsed.error?.message) return parsed.error.message;
    if (parsed.message) return parsed.message;
  } catch {
    // not JSON: fall through to the raw text
  }
  return text.slice(0, 500) || 'no message';
}
