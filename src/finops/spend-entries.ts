// The ledger's inference entries as spend records: what every spend report and export is computed from.
import type { LedgerEntry, LedgerStore } from '../ledger/types.js';

/** One inference's spend, as its ledger entry recorded it. */
export interface SpendEntry {
  /** When the request started (ISO 8601 UTC). */
  time: string;
  department: string | null;
  keyId: string | null;
  keyName: string | null;
  alias: string | null;
  provider: string | null;
  modelVersion: string | null;
  tags: Readonly<Record<string, string>>;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  reasoningTokens: number;
  /** Exact integer micro-dollars. */
  costMicros: number;
  refused: boolean;
}

export interface SpendWindow {
  /** Inclusive. */
  from: Date;
  /** Exclusive. */
  to: Date;
  /** Only this department's entries (a department-scoped admin's view). */
  department?: string | null;
  /** Entries read per query (default 5000). */
  pageSize?: number;
}

function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isSafeInteger(value) ? value : 0;
}

/** The spend fields of an inference entry (src/gateway/stages/ledger-stage.ts writes them). */
export function spendEntryOf(entry: LedgerEntry): SpendEntry {
  const tokens = (typeof entry.tokens === 'object' && entry.tokens !== null ? entry.tokens : {}) as Record<string, unknown>;
  const tags = typeof entry.tags === 'object' && entry.tags !== null ? entry.tags as Record<string, string> : {};
  const decision = (typeof entry.decision === 'object' && entry.decision !== null ? entry.decision : {}) as Record<string, unknown>;
  return {
    time: entry.time,
    department: entry.department ?? null,
    keyId: text(entry.key_id),
    keyName: entry.key ?? null,
    alias: text(entry.alias),
    provider: text(entry.provider),
    modelVersion: text(entry.model_version),
    tags,
    inputTokens: count(tokens.input),
    outputTokens: count(tokens.output),
    cachedInputTokens: count(tokens.cached_input),
    reasoningTokens: count(tokens.reasoning),
    costMicros: count(entry.cost_usd_micros),
    refused: decision.outcome === 'refused',
  };
}

/**
 * Every inference entry whose time is in the window, in ledger order, read a page at a time. An entry is appended when
 * its request ends, so a long request's entry may follow later ones: the log is read to its end, never cut at `to`.
 */
export async function* spendEntries(ledger: Pick<LedgerStore, 'entries'>, window: SpendWindow): AsyncGenerator<SpendEntry> {
  const from = window.from.getTime();
  const to = window.to.getTime();
  let next = 0;
  for (;;) {
    const page = await ledger.entries({ from: next, limit: window.pageSize ?? 5000, kind: 'inference', since: window.from, department: window.department ?? undefined });
    if (page.length === 0) return;
    for (const stored of page) {
      const time = Date.parse(stored.entry.time);
      if (time >= from && time < to) yield spendEntryOf(stored.entry);
    }
    next = page[page.length - 1].seq + 1;
  }
}
