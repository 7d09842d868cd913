// Drops the counters of budget windows that are over, once their final spend is reported (else they pile up for ever).
import { windowEndedBefore } from '../core/periods.js';
import type { LedgerEntryInput } from '../ledger/types.js';
import type { BudgetStore, CounterRecord } from './store.js';

// Callers import it from here; it lives in core because the stores' closed-window queries decide with it too.
export { windowEndedBefore };

const defaultLimit = 10_000;

export interface PruneWindowsOptions {
  store: BudgetStore;
  /** Epoch ms. */
  now: number;
  /**
   * The longest a request may run: a request settles in the window it reserved in, so a window's counters may still
   * change until this long after it ended.
   */
  graceMs: number;
  /** The org's time zone, in which the window keys were made. */
  timeZone: string;
  /** Called with the counters about to go, before they go (their ledger entries); a failure keeps every counter. */
  report?: (counters: readonly CounterRecord[]) => Promise<void>;
  /** At most this many counters per call, oldest windows first, so a long backlog is worked off over several calls. */
  limit?: number;
}

/**
 * Report, then delete, the counters of windows that ended longer than `graceMs` ago and hold no open reservation.
 * Returns how many counters were deleted.
 *
 * @example await pruneClosedWindows({ store, now: Date.now(), graceMs: maxRequestMs, timeZone: 'UTC', report })
 */
export async function pruneClosedWindows(options: PruneWindowsOptions): Promise<number> {
  const store = options.store;
  // Replicas take turns: two reporting the same window at once would put its spend on the ledger twice.
  if (store.exclusively !== undefined) return (await store.exclusively('window-pruning', () => pruneNow(options))) ?? 0;
  return pruneNow(options);
}

async function pruneNow(options: PruneWindowsOptions): Promise<number> {
  const cutoff = options.now - options.graceMs;
  const limit = options.limit ?? defaultLimit;
  // The store reads only what is over; the same checks again keep a store that ignores the filter exact.
  const closed = (await options.store.spend({ closedBefore: { cutoff, timeZone: options.timeZone }, limit }))
    .filter((counter) => counter.reserved === 0 && windowEndedBefore(counter.period, counter.windowKey, cutoff, options.timeZone))
    .sort((left, right) => (left.windowKey < right.windowKey ? -1 : left.windowKey > right.windowKey ? 1 : 0))
    .slice(0, limit);
  if (closed.length === 0) return 0;
  await options.report?.(closed);
  const pruned = await options.store.pruneCounters(closed.map(({ counterKey, spent }) => ({ counterKey, spent })));
  return pruned.length;
}

/** The ledger entry that reports a window's final spend before its counter goes (no limit: it may have changed). */
export function windowClosedEntry(counter: CounterRecord, department: string | undefined): LedgerEntryInput {
  return {
    kind: 'budget.window_closed',
    department,
    scope: counter.scope,
    budget: { unit: counter.unit, period: counter.period, window: counter.windowKey },
    spent: counter.spent,
  };
}
