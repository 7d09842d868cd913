// One SQLite transaction per event-loop turn for every store on a database: each store's batch runs inside it
// (its own transaction becomes a savepoint), so a turn costs one commit instead of one per store.
import type { SqliteDatabase } from './database.js';

/**
 * What a flush wants done once the turn's transaction has ended: `committed` (its writes are durable: acknowledge
 * them), or `failed` (the COMMIT itself failed, e.g. a full disk: nothing it wrote was kept).
 */
export interface TurnOutcome {
  committed(): void;
  failed(error: unknown): void;
}

export type TurnFlush = () => TurnOutcome | void;
export type TurnScheduler = (flush: TurnFlush) => void;

/** The turn queue of one database: `schedule` is what the stores are given; `hold` and `release` pause its commits. */
export interface TurnQueue {
  schedule: TurnScheduler;
  /**
   * Commit nothing until `release` (flushes keep queueing): the WAL checkpointer asks for this so that one checkpoint
   * can copy the whole WAL and SQLite starts it over, and the budget fold's thread while it writes. Nothing blocks
   * meanwhile; acknowledgements wait. Holds are counted: commits resume when every hold is released.
   */
  hold(): void;
  release(): void;
  /** Whether a hold is in force (another holder then waits for it to end rather than write beside it). */
  readonly held: boolean;
}

/**
 * `schedule` queues a store's flush for the end of this turn (setImmediate). Flushes run in the order queued, inside
 * one transaction; a flush that throws rolls back only its own savepoint. Their outcomes are settled after the
 * COMMIT, so nothing is acknowledged before it is durable, and a failed COMMIT fails this turn's writes instead of the
 * process. `onTurn` hears each turn's outcome: undefined, or its first failure (a full disk: /healthz says so until
 * space returns).
 */
export function createTurnQueue(database: SqliteDatabase, onError: (error: unknown) => void, onTurn?: (failure: unknown) => void): TurnQueue {
  let queue: TurnFlush[] = [];
  let scheduled = false;
  /** Holds not yet released (the checkpointer's and the budget fold's may overlap). */
  let held = 0;
  /** The turn's first failure (a flush that threw, or the COMMIT), for onTurn. */
  let failure: unknown;
  const runAll = database.transaction((work: TurnFlush[], outcomes: TurnOutcome[]) => {
    for (const flush of work) {
      try {
        const outcome = flush();
        if (outcome) outcomes.push(outcome);
      } catch (error) {
        failure ??= error;
        onError(error);
      }
    }
  });
  const run = () => {
    scheduled = false;
    if (held > 0) return;
    // Released after the database closed (a shutdown while the checkpointer held it): each store committed what it
    // had when it closed, so what is queued has nothing left to write.
    if (!database.open) {
      queue = [];
      return;
    }
    const work = queue;
    queue = [];
    const outcomes: TurnOutcome[] = [];
    failure = undefined;
    try {
      // IMMEDIATE: the write lock first, so no read inside can leave a stale snapshot that then cannot write.
      runAll.immediate(work, outcomes);
    } catch (error) {
      // better-sqlite3 has rolled the transaction back.
      onError(error);
      onTurn?.(error);
      for (const outcome of outcomes) outcome.failed(error);
      return;
    }
    onTurn?.(failure);
    for (const outcome of outcomes) outcome.committed();
  };
  const wake = () => {
    if (!scheduled && queue.length > 0) {
      scheduled = true;
      setImmediate(run);
    }
  };
  return {
    schedule: (flush) => {
      queue.push(flush);
      if (held === 0) wake();
    },
    hold: () => {
      held += 1;
    },
    release: () => {
      held = Math.max(0, held - 1);
      if (held === 0) wake();
    },
    get held() {
      return held > 0;
    },
  };
}
