// One SQLite transaction per event-loop turn for every store on a database: each store's batch runs inside it
// (its own transaction becomes a savepoint), so a turn costs one commit instead of one per store.
import type { SqliteDatabase } from './database.js';

export type TurnScheduler = (flush: () => void) => void;

/**
 * The returned function queues a store's flush for the end of this turn (setImmediate). Flushes run in the
 * order queued, inside one transaction; a flush that throws rolls back only its own savepoint.
 */
export function createTurnScheduler(database: SqliteDatabase, onError: (error: unknown) => void): TurnScheduler {
  let queue: (() => void)[] = [];
  let scheduled = false;
  const runAll = database.transaction((work: (() => void)[]) => {
    for (const flush of work) {
      try {
        flush();
      } catch (error) {
        onError(error);
      }
    }
  });
  const run = () => {
    scheduled = false;
    const work = queue;
    queue = [];
    runAll(work);
  };
  return (flush) => {
    queue.push(flush);
    if (!scheduled) {
      scheduled = true;
      setImmediate(run);
    }
  };
}
