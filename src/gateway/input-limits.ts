// What one client may make the HTTP server hold or wait for: JSON depth, connections per address, and the answers to
// requests Node refuses before Fastify sees them (oversized or timed-out headers), in OpenAI's error shape.
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { CovenantError, type ErrorCode } from '../core/errors.js';
import type { RawConfig } from '../config/schema.js';

type ServerConfig = RawConfig['server'];

export interface InputLimits {
  headerLimitBytes: number;
  maxJsonDepth: number;
  /** 0: no limit. */
  maxConnectionsPerClient: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** 0: no idle timeout. */
  idleTimeoutMs: number;
}

/**
 * Where JSON text first nests deeper than `maxDepth` (a character offset), or -1. One pass over the text, before it is
 * parsed, so a body of a million `[` costs a scan and not a parse and a recursive walk of every later step.
 */
export function jsonDepthOverflow(text: string, maxDepth: number): number {
  // Nesting deeper than maxDepth needs more than maxDepth brackets: most bodies have a few, counted by indexOf (native,
  // fast over long prompt text), and skip the character-by-character scan.
  if (!moreBracketsThan(text, maxDepth)) return -1;
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (inString) {
      if (code === 92) index++; // backslash: skip the escaped character
      else if (code === 34) inString = false;
    } else if (code === 34) inString = true;
    else if (code === 123 || code === 91) {
      if (++depth > maxDepth) return index;
    } else if (code === 125 || code === 93) depth--;
  }
  return -1;
}

/** Whether `text` holds more than `limit` opening brackets (`{` or `[`, in strings too: an upper bound of the depth). */
function moreBracketsThan(text: string, limit: number): boolean {
  let count = 0;
  for (let index = text.indexOf('{'); index !== -1; index = text.indexOf('{', index + 1)) if (++count > limit) return true;
  for (let index = text.indexOf('['); index !== -1; index = text.indexOf('[', index + 1)) if (++count > limit) return true;
  return false;
}

/** The refusal for a body nested too deep; the route's handler never runs. */
export function tooDeep(offset: number, maxDepth: number): CovenantError {
  return new CovenantError('invalid_json', `the body nests deeper than server.max_json_depth (${maxDepth}) at character ${offset}`);
}

/** A raw HTTP/1.1 error answer in OpenAI's shape, for sockets Fastify never gets (the connection is closed after it). */
export function rawErrorResponse(code: ErrorCode, detail = ''): string {
  const error = new CovenantError(code, detail);
  const body = JSON.stringify(error.toBody());
  return `HTTP/1.1 ${error.status} ${statusText[error.status] ?? 'Error'}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}

/** The limits from the config's `server:` block. */
export function inputLimits(server: ServerConfig): InputLimits {
  return {
    headerLimitBytes: server.header_limit_bytes, maxJsonDepth: server.max_json_depth, maxConnectionsPerClient: server.max_connections_per_client,
    headersTimeoutMs: server.headers_timeout_ms, requestTimeoutMs: server.request_timeout_ms, keepAliveTimeoutMs: server.keep_alive_timeout_ms,
    idleTimeoutMs: server.idle_timeout_ms,
  };
}

const statusText: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 429: 'Too Many Requests', 431: 'Request Header Fields Too Large' };

/** Fastify's `clientErrorHandler`: Node's parser refused the request (bad framing, headers too large, too slow). */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const answer = error.code === 'HPE_HEADER_OVERFLOW' ? rawErrorResponse('headers_too_large')
    : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? rawErrorResponse('request_timeout')
      : rawErrorResponse('invalid_request', 'The request is not valid HTTP/1.1.');
  socket.end(answer);
}

/** Refuse a client's connection beyond `limit` open ones from its address (429, then closed). */
export function limitConnectionsPerClient(server: Server, limit: number): void {
  if (limit <= 0) return;
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '';
    const count = (open.get(address) ?? 0) + 1;
    if (count > limit) {
      socket.end(rawErrorResponse('too_many_connections', String(limit)));
      socket.destroySoon();
      return;
    }
    open.set(address, count);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left <= 0) open.delete(address);
      else open.set(address, left);
    });
  });
}
