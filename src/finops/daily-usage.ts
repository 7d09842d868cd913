// Spend rolled up per day × department × key × model version (and tag set): the rows of every spend export.
import type { SpendEntry } from './spend-entries.js';

export interface UsageRow {
  /** UTC day, YYYY-MM-DD. */
  day: string;
  department: string | null;
  keyId: string | null;
  keyName: string | null;
  provider: string | null;
  alias: string | null;
  modelVersion: string | null;
  tags: Readonly<Record<string, string>>;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  reasoningTokens: number;
  /** Exact integer micro-dollars: the sum of the entries' costs. */
  costMicros: number;
}

/**
 * Roll entries up into one row per UTC day, department, key, model version and tag set (a row carries one set of tags,
 * so differently tagged requests stay apart). Entries that cost nothing and used no tokens (refusals) are left out.
 */
export async function dailyUsage(entries: AsyncIterable<SpendEntry> | Iterable<SpendEntry>): Promise<UsageRow[]> {
  const rows = new Map<string, UsageRow>();
  for await (const entry of entries) {
    if (entry.costMicros === 0 && entry.inputTokens === 0 && entry.outputTokens === 0) continue;
    const day = entry.time.slice(0, 10);
    const tagsKey = JSON.stringify(entry.tags);
    const key = JSON.stringify([day, entry.department, entry.keyId, entry.keyName, entry.provider, entry.alias, entry.modelVersion, tagsKey]);
    let row = rows.get(key);
    if (!row) {
      row = {
        day, department: entry.department, keyId: entry.keyId, keyName: entry.keyName, provider: entry.provider,
        alias: entry.alias, modelVersion: entry.modelVersion, tags: entry.tags,
        requests: 0, inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, reasoningTokens: 0, costMicros: 0,
      };
      rows.set(key, row);
    }
    row.requests += 1;
    row.inputTokens += entry.inputTokens;
    row.outputTokens += entry.outputTokens;
    row.cachedInputTokens += entry.cachedInputTokens;
    row.reasoningTokens += entry.reasoningTokens;
    row.costMicros += entry.costMicros;
  }
  return [...rows.values()].sort(compareRows);
}

function compareRows(first: UsageRow, second: UsageRow): number {
  const fields = (row: UsageRow) => [row.day, row.department ?? '', row.keyName ?? '', row.keyId ?? '', row.modelVersion ?? '', row.alias ?? '', JSON.stringify(row.tags)];
  const left = fields(first);
  const right = fields(second);
  for (let index = 0; index < left.length; index += 1) {
    if (left[index] !== right[index]) return left[index] < right[index] ? -1 : 1;
  }
  return 0;
}
