// Writes the budget store's folds into its database (a file of its own, so no other store waits on SQLite's writer
// lock) from a worker thread with a connection of its own, so the event loop only hands the changed counters over;
// and reads there the counters the store's memory lacks when a turn misses many, so a burst costs the event loop no page read.
import { createRequire } from 'node:module';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';

// A fold is a journal line (`[inFlight, key, spent, reserved, ...]`) and, for counters the database has no row for,
// their key's parts. Rows are written in key order (an end user's counters sit together in the table, so neighbours
// share the pages read and written), a few tens of milliseconds per transaction, answering the reads waiting as it goes.
// The thread is the database's only writer while it runs (the store prunes only between folds).
const workerSource = `
const { parentPort, receiveMessageOnPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const database = new Database(workerData.path);
database.pragma('busy_timeout = 5000');
// The store's checkpointer thread checkpoints the WAL, so that no fsync here keeps a read waiting.
database.pragma('wal_autocheckpoint = 0');
database.pragma('journal_size_limit = ' + workerData.journalSizeLimit);
database.pragma('cache_size = -' + workerData.cacheKibibytes);
const update = database.prepare('UPDATE budget_counters SET spent = ?, reserved = ? WHERE counter_key = ?');
const insert = database.prepare(\`INSERT INTO budget_counters (counter_key, scope, unit, period, window_key, spent, reserved)
  VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (counter_key) DO UPDATE SET spent = excluded.spent, reserved = excluded.reserved\`);
const writeInFlight = database.prepare(\`INSERT INTO budget_counters (counter_key, scope, unit, period, window_key, spent, reserved)
  VALUES (?, '', 'count', 'total', 'total', 0, ?) ON CONFLICT (counter_key) DO UPDATE SET reserved = excluded.reserved\`);
const select = database.prepare('SELECT spent, reserved FROM budget_counters WHERE counter_key = ?');
// Reads come on a port of their own, so that a fold serves them between its chunks; answers go with the fold's
// messages, in one order: one read after a fold's end is answered after that end is.
const reads = workerData.reads;
const read = ({ id, keys }) => {
  const values = [];
  for (const key of keys) {
    const row = select.get(key);
    if (row === undefined) values.push(0, 0, 0);
    else values.push(row.spent, row.reserved, 1);
  }
  parentPort.postMessage({ read: id, values });
};
const readWaiting = () => {
  for (let message = receiveMessageOnPort(reads); message !== undefined; message = receiveMessageOnPort(reads)) read(message.message);
};
reads.on('message', read);
const chunk = database.transaction((fold) => {
  const started = performance.now();
  const { rows, fresh } = fold;
  while (fold.at < rows.length) {
    const [key, spent, reserved] = rows[fold.at];
    fold.at += 1;
    const parts = fresh.get(key);
    if (parts !== undefined) insert.run(key, parts[0], parts[1], parts[2], parts[3], spent, reserved);
    else if (update.run(spent, reserved, key).changes === 0) fold.missing.push(key);
    if ((fold.at & 31) === 0) {
      // Reads waiting are answered inside the transaction: it changes only counters the store holds in memory, whose
      // answers it ignores, so what a read returns is what the database held before this fold.
      readWaiting();
      if (performance.now() - started > workerData.chunkMs) break;
    }
  }
  if (fold.at === rows.length && fold.inFlight !== undefined) writeInFlight.run(workerData.inFlightKey, fold.inFlight);
});
const write = (fold) => {
  do {
    chunk.immediate(fold);
    readWaiting();
  } while (fold.at < fold.rows.length);
};
parentPort.on('message', (message) => {
  if (message === 'stop') {
    database.close();
    process.exit(0);
  } else {
    const values = JSON.parse(message.line);
    const rows = [];
    for (let at = 1; at < values.length; at += 3) rows.push([values[at], values[at + 1], values[at + 2]]);
    rows.sort((first, second) => (first[0] < second[0] ? -1 : first[0] > second[0] ? 1 : 0));
    const fresh = new Map();
    for (let at = 0; at < message.fresh.length; at += 5) fresh.set(message.fresh[at], message.fresh.slice(at + 1, at + 5));
    const fold = { rows, fresh, at: 0, missing: [], inFlight: message.writeInFlight ? values[0] : undefined };
    try {
      write(fold);
    } catch (error) {
      parentPort.postMessage({ failed: String(error && error.message || error) });
      return;
    }
    parentPort.postMessage({ done: fold.missing });
  }
});
`;

/**
 * How long one transaction of a fold may write before it commits. Reads are answered within it (every 32 rows), so a
 * longer one keeps no read waiting; fewer commits write the pages every chunk touches (the tree's upper levels, the
 * org's and departments' rows) fewer times.
 */
const chunkMs = 20;
/** A WAL the fold grew past this is cut back to it when it next starts over. */
const journalSizeLimit = 64 * 1024 * 1024;

export interface FoldThreadOptions {
  /** The database file. */
  path: string;
  /** The counter row that holds the number of reservations in flight. */
  inFlightKey: string;
  cacheKibibytes: number;
}

export interface FoldThread {
  /**
   * Write `line` (a journal line: the in-flight count and counters' amounts) into the database, the in-flight count
   * only when `writeInFlight`. `fresh` holds, five strings a counter, the key, scope, unit, period and window of each
   * counter that has no row yet. Resolves with the keys that had no row though they were not in `fresh`.
   */
  write(line: string, fresh: readonly string[], writeInFlight: boolean): Promise<string[]>;
  /**
   * The database's amounts of `keys`: three numbers each, spent, reserved and 1 when it has the row (else 0, 0, 0).
   * Whatever the database held when it was read: a caller takes it only for a counter not in its memory.
   */
  read(keys: readonly string[]): Promise<number[]>;
  stop(): Promise<void>;
}

/** Start the fold thread on `path` (now, so that it is ready by the first miss); one that dies is started again when next used. */
export function startFoldThread(options: FoldThreadOptions): FoldThread {
  let worker: Worker | undefined;
  /** The port reads are sent on (its partner is the thread's). */
  let reads: MessagePort | undefined;
  let readId = 0;
  const reading = new Map<number, { resolve: (values: number[]) => void; reject: (error: unknown) => void }>();
  /** The thread keeps the process alive only while someone waits for it (a fold or a read). */
  const waited = () => {
    if (current !== undefined || reading.size > 0) worker?.ref();
    else worker?.unref();
  };
  let current: { resolve: (missing: string[]) => void; reject: (error: unknown) => void } | undefined;
  const fail = (error: unknown) => {
    const waiting = current;
    current = undefined;
    waited();
    waiting?.reject(error);
  };
  const stopped = (error: unknown) => {
    fail(error);
    const readers = [...reading.values()];
    reading.clear();
    waited();
    for (const each of readers) each.reject(error);
  };
  const start = (): Worker => {
    const channel = new MessageChannel();
    reads = channel.port1;
    reads.unref();
    const started = new Worker(workerSource, {
      eval: true,
      // None of the process's flags: the source is CommonJS (--input-type=module would make it ESM), and a worker given
      // a V8 flag (node --max-semi-space-size=N) refuses to start.
      execArgv: [],
      transferList: [channel.port2],
      workerData: {
        reads: channel.port2,
        path: options.path, module: createRequire(import.meta.url).resolve('better-sqlite3'), inFlightKey: options.inFlightKey,
        cacheKibibytes: options.cacheKibibytes, chunkMs, journalSizeLimit,
      },
    });
    started.unref();
    started.on('message', (message: { done?: string[]; failed?: string; read?: number; values?: number[] }) => {
      if (message.read !== undefined) {
        const waiting = reading.get(message.read);
        reading.delete(message.read);
        waited();
        waiting?.resolve(message.values as number[]);
      } else if (message.done !== undefined) {
        const waiting = current;
        current = undefined;
        waited();
        waiting?.resolve(message.done);
      } else if (message.failed !== undefined) fail(new Error(`budget fold: ${message.failed}`));
    });
    started.on('error', stopped);
    started.on('exit', () => {
      if (worker === started) worker = undefined;
      stopped(new Error('budget fold: the thread stopped'));
    });
    return started;
  };
  worker = start();
  return {
    write(line, fresh, writeInFlight) {
      if (current !== undefined) return Promise.reject(new Error('budget fold: one fold at a time'));
      worker ??= start();
      const promise = new Promise<string[]>((resolve, reject) => { current = { resolve, reject }; });
      waited();
      worker.postMessage({ line, fresh, writeInFlight });
      return promise;
    },
    read(keys) {
      worker ??= start();
      const id = (readId += 1);
      const promise = new Promise<number[]>((resolve, reject) => { reading.set(id, { resolve, reject }); });
      waited();
      (reads as MessagePort).postMessage({ id, keys });
      return promise;
    },
    async stop() {
      const stopping = worker;
      worker = undefined;
      if (stopping === undefined) return;
      await new Promise<void>((resolve) => {
        stopping.once('exit', () => resolve());
        // Waited for: an unreferenced thread would let the process end (exit code 13) before close() resolves.
        stopping.ref();
        stopping.postMessage('stop');
      });
    },
  };
}
