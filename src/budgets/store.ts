// The budget store contract: atomic all-or-nothing reservations over counters, shared by SQLite, memory and Redis.
//
// A counter is keyed by scope, budget and period window (core/budget-math.ts counterKeyFor). Every amount is an
// integer: micro-dollars for usd budgets, tokens for token budgets. Limits travel with each call rather than
// living in the store, so a config reload applies at once and never touches recorded spend.
//
// Implementations must make tryReserve (and decideAndReserve, where offered), settle and release each one atomic
// step (synchronous in memory with a group commit for SQLite, one Redis Lua script) and keep what they commit across
// a crash of the process.

export interface CounterState {
  counterKey: string;
  spent: number;
  reserved: number;
}

/** A counter's amounts as a store holds them (read-only to callers). */
export interface CounterValues {
  readonly spent: number;
  readonly reserved: number;
}

export interface ReservationItem {
  counterKey: string;
  amount: number;
  /** The budget's limit now; the reserve fails if spent + reserved + amount would pass it. */
  limit: number;
}

export interface Reservation {
  /** Unique per request, never reused: settle and release are idempotent by id. */
  id: string;
  /** Epoch ms; recoverOrphans converts reservations older than a cutoff. */
  createdAt: number;
  items: ReservationItem[];
}

export type ReserveResult =
  | { ok: true }
  /** Nothing was reserved. `counters` are fresh values of every item's counter, so a retry needs no extra read. */
  | { ok: false; counterKey: string; counters: CounterState[] };

/**
 * Actual amounts in the order of a reservation's items. An array, not a map by counter key: a per-user key named as a
 * property costs V8 a new internalized string on every request.
 */
export type SettleAmounts = readonly (number | undefined)[];

export interface SettleResult {
  /** False when the reservation was already settled, released or recovered (the call changed nothing). */
  applied: boolean;
  /** The reservation's counters after the change (empty when nothing was applied). */
  counters: CounterState[];
}

export interface CounterRecord extends CounterState {
  scope: string;
  unit: 'usd' | 'tokens';
  period: 'hour' | 'day' | 'week' | 'month' | 'total';
  windowKey: string;
}

export interface SpendFilter {
  /** Exactly this scope. */
  scope?: string;
  /** Scopes starting with this text (e.g. "user:claims/"). */
  scopePrefix?: string;
  /** Only counters of these windows (e.g. the current day and month): past windows are history the report skips. */
  windowKeys?: readonly string[];
  /**
   * Only counters that a pruning pass may take: of windows over at `cutoff` (epoch ms) in `timeZone`, as
   * core/periods.ts windowEndedBefore decides, holding no reservation. They come oldest window first: ordered by
   * window key, then scope, then counter key. Durable stores find them without reading the counters of windows still
   * open (millions at scale: one per end user).
   */
  closedBefore?: { cutoff: number; timeZone: string };
  /** At most this many counters (the first ones in the order above). */
  limit?: number;
}

export interface BudgetStore {
  /** Current counters; keys never used are absent from the map (read them as zero). */
  read(counterKeys: readonly string[]): Promise<Map<string, CounterState>>;
  /** All or nothing: every item's spent + reserved + amount <= limit, checked and applied atomically. */
  tryReserve(reservation: Reservation): Promise<ReserveResult>;
  /**
   * Optional, for stores whose counters live in this process (SQLite, memory): read the counters of
   * `counterKeys`, let `decide` choose the items, and reserve them all or nothing, in one synchronous step, so no
   * other request comes between the read and the reserve (no retries, one await). `decide` gets the counters in
   * the order of `counterKeys` and returns undefined to reserve nothing. Resolves to whether the items were
   * reserved, once that is durable. The store keeps the returned items: they must not change afterwards.
   * Stores shared between processes (Redis) leave it out; callers then use read and tryReserve.
   */
  decideAndReserve?(
    id: string, createdAt: number, counterKeys: readonly string[],
    decide: (counters: readonly CounterValues[]) => readonly ReservationItem[] | undefined,
  ): Promise<boolean>;
  /**
   * Replace the reservation by actual spend, in the reservation's own counters (its own windows, even after a
   * rollover). `actual[index]` is the amount of the reservation's item `index`; an item without one (undefined, or
   * past the end) settles at its reserved amount.
   */
  settle(id: string, actual: SettleAmounts): Promise<SettleResult>;
  /** Drop the reservation without spend (the provider was never billed). */
  release(id: string): Promise<SettleResult>;
  /**
   * Convert reservations created before `createdBefore` (epoch ms) into spend at their reserved (worst-case)
   * amounts: left by a crashed process, or leaked. Returns how many reservations were recovered.
   */
  recoverOrphans(createdBefore: number): Promise<number>;
  /** Counters for reports, filtered by scope. */
  spend(filter?: SpendFilter): Promise<CounterRecord[]>;
  /**
   * Delete counters of windows that are over (budgets/window-pruning.ts decides which), each only when it holds no
   * open reservation and its spend is still `spent`: the figure the caller reported, so none is lost unreported.
   * Returns the keys deleted.
   */
  pruneCounters(counters: readonly { counterKey: string; spent: number }[]): Promise<string[]>;
  /**
   * Stores shared between processes: run `work` unless another process runs work of the same `name` now (then resolve
   * undefined), so that one replica at a time reports and prunes past windows.
   */
  exclusively?<T>(name: string, work: () => Promise<T>): Promise<T | undefined>;
  close(): Promise<void>;
}
