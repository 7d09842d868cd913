// Prepares request/response content for storage under a retention mode (none | redacted | full); shared by all stores.
import { redactJson, redactText, type RedactionCounts } from '../core/redact.js';
import type { ContentMode, EntryContent, StoredContent } from './types.js';

export interface PreparedContent {
  mode: 'redacted' | 'full';
  /** JSON text of the (possibly redacted) request, or null when absent. */
  requestJson: string | null;
  responseJson: string | null;
  redactions: RedactionCounts | null;
}

export const contentModes: readonly ContentMode[] = ['none', 'redacted', 'full'];

/** Bytes become UTF-8 text; JSON text stays text (redaction works on it directly); other values stay as they are. */
function normalise(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
  return value;
}

/** Returns undefined for mode 'none' (nothing is stored). */
export function prepareContent(content: EntryContent, mode: ContentMode): PreparedContent | undefined {
  if (!contentModes.includes(mode)) throw new Error(`unknown content mode "${String(mode)}": use none, redacted or full`);
  if (mode === 'none') return undefined;
  let request = normalise(content.request);
  let response = normalise(content.response);
  let redactions: RedactionCounts | null = null;
  if (mode === 'redacted') {
    const redactedRequest = typeof request === 'string' ? redactText(request) : redactJson(request);
    const redactedResponse = typeof response === 'string' ? redactText(response) : redactJson(response);
    request = redactedRequest.value;
    response = redactedResponse.value;
    redactions = { ...redactedRequest.counts };
    for (const [kind, count] of Object.entries(redactedResponse.counts)) redactions[kind as keyof RedactionCounts] += count;
  }
  return {
    mode,
    requestJson: request === undefined ? null : JSON.stringify(request),
    responseJson: response === undefined ? null : JSON.stringify(response),
    redactions,
  };
}

/** A stored content row, as both the SQLite and the PostgreSQL ledger keep it. */
export interface ContentRow {
  seq: number;
  mode: 'redacted' | 'full';
  department: string | null;
  time: string;
  request_json: string | null;
  response_json: string | null;
  redactions_json: string | null;
}

export function contentFromRow(row: ContentRow): StoredContent {
  return {
    seq: row.seq,
    mode: row.mode,
    department: row.department,
    time: row.time,
    request: row.request_json === null ? undefined : JSON.parse(row.request_json),
    response: row.response_json === null ? undefined : JSON.parse(row.response_json),
    ...(row.redactions_json === null ? {} : { redactions: JSON.parse(row.redactions_json) }),
  };
}
