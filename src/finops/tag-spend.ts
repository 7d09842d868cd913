// Spend grouped by one tag's values (GET /admin/spend?group_by=tag:KEY, `covenant spend --by tag:KEY`).
import { formatMicros } from '../core/money.js';
import type { SpendEntry } from './spend-entries.js';

export interface TagSpendGroup {
  /** The tag's value; null for requests that did not carry the tag. */
  value: string | null;
  requests: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: string;
  cost_usd_micros: number;
}

export interface TagSpendReport {
  group_by: string;
  from: string;
  to: string;
  groups: TagSpendGroup[];
  total: { requests: number; cost_usd: string; cost_usd_micros: number };
}

/** `tag:KEY` → KEY; undefined for any other grouping. */
export function tagOfGrouping(groupBy: string): string | undefined {
  const match = /^tag:(.+)$/.exec(groupBy);
  return match?.[1];
}

/**
 * Sum the entries' spend per value of one tag: exact integer micro-dollars, largest spend first, the untagged (null)
 * group last. Refused requests count as requests (their cost is zero).
 * @example await tagSpend(spendEntries(ledger, window), 'team', window)
 */
export async function tagSpend(entries: AsyncIterable<SpendEntry> | Iterable<SpendEntry>, tag: string, window: { from: Date; to: Date }): Promise<TagSpendReport> {
  const groups = new Map<string | null, { requests: number; input: number; output: number; micros: number }>();
  for await (const entry of entries) {
    const value = Object.hasOwn(entry.tags, tag) ? entry.tags[tag] : null;
    let group = groups.get(value);
    if (!group) {
      group = { requests: 0, input: 0, output: 0, micros: 0 };
      groups.set(value, group);
    }
    group.requests += 1;
    group.input += entry.inputTokens;
    group.output += entry.outputTokens;
    group.micros += entry.costMicros;
  }
  const rows = [...groups].map(([value, group]): TagSpendGroup => ({
    value, requests: group.requests, input_tokens: group.input, output_tokens: group.output,
    cost_usd: formatMicros(group.micros), cost_usd_micros: group.micros,
  }));
  rows.sort((first, second) => {
    if ((first.value === null) !== (second.value === null)) return first.value === null ? 1 : -1;
    return second.cost_usd_micros - first.cost_usd_micros || String(first.value).localeCompare(String(second.value));
  });
  const micros = rows.reduce((sum, row) => sum + row.cost_usd_micros, 0);
  return {
    group_by: `tag:${tag}`, from: window.from.toISOString(), to: window.to.toISOString(), groups: rows,
    total: { requests: rows.reduce((sum, row) => sum + row.requests, 0), cost_usd: formatMicros(micros), cost_usd_micros: micros },
  };
}
