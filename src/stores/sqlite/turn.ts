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

/**
 * The returned function queues a store's flush for the end of this turn (setImmediate). Flushes run in the
 * order queued, inside one transaction; a flush that throws rolls back only its own savepoint. Their outcomes are
 * settled after the COMMIT, so nothing is acknowledged before it is durable, and a failed COMMIT fails this turn's
 * writes instead of the process.
 */
export function createTurnScheduler(database: SqliteDatabase, onError: (error: unknown) => void): TurnScheduler {
  let queue: TurnFlush[] = [];
  let scheduled = false;
  const runAll = database.transaction((work: TurnFlush[], outcomes: TurnOutcome[]) => {
    for (const flush of work) {
      try {
        const outcome = flush();
        if (outcome) outcomes.push(outcome);
      } catch (error) {
        onError(error);
      }
    }
  });
  const run = () => {
    scheduled = false;
    const work = queue;
    queue = [];
    const outcomes: TurnOutcome[] = [];
    try {
      // IMMEDIATE: the write lock first, so no read inside can leave a stale snapshot that then cannot write.
      runAll.immediate(work, outcomes);
    } catch (error) {
      // better-sqlite3 has rolled the transaction back.
      onError(error);
      for (const outcome of outcomes) outcome.failed(error);
      return;
    }
    for (const outcome of outcomes) outcome.committed();
  };
  return (flush) => {
    queue.push(flush);
    if (!scheduled) {
      scheduled = true;
      setImmediate(run);
    }
  };
}
