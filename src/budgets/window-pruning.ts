// Drops the counters of budget windows that are over, once their final spend is reported (else they pile up for ever).
import { periodWindow } from '../core/periods.js';
import type { LedgerEntryInput } from '../ledger/types.js';
import type { BudgetStore, CounterRecord } from './store.js';

const hourMs = 3_600_000;
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
 * Whether a window of `period` named `windowKey` ended before `cutoff` (epoch ms). `total` never ends. Day, week and
 * month keys are fixed-width dates that sort in time order; an hour key carries its UTC offset, so it is compared as
 * an instant (the hour repeated when DST ends has two keys that do not sort in time order).
 */
export function windowEndedBefore(period: CounterRecord['period'], windowKey: string, cutoff: number, timeZone: string): boolean {
  if (period === 'total') return false;
  if (period === 'hour') {
    const start = Date.parse(windowKey);
    return Number.isFinite(start) && start + hourMs <= cutoff;
  }
  return windowKey < periodWindow(period, new Date(cutoff), timeZone).key;
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
  const closed = (await options.store.spend())
    .filter((counter) => counter.reserved === 0 && windowEndedBefore(counter.period, counter.windowKey, cutoff, options.timeZone))
    .sort((left, right) => (left.windowKey < right.windowKey ? -1 : left.windowKey > right.windowKey ? 1 : 0))
    .slice(0, options.limit ?? defaultLimit);
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
