// Moves SQLite's WAL checkpoints (the only fsyncs in WAL + synchronous=NORMAL) off the event loop into a worker thread,
// and keeps the WAL from growing without end while the gateway writes without a pause.
import { writeFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

// A PASSIVE checkpoint never blocks the writer, but under steady writes it never catches up with it either: frames
// arrive while it copies, so the WAL is never wholly checkpointed and SQLite never starts it over (it grew by hundreds
// of megabytes a minute under the benchmark's load, each write into newly allocated blocks). So once the WAL holds
// more than `limitBytes`, the thread asks the gateway's turn queue to hold its commits (the event loop goes on; only
// acknowledgements wait), checkpoints what the last passive pass left (a few milliseconds, as the writer is held),
// and releases it: the next commit then writes the WAL from its start, over blocks already allocated.
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const database = new Database(workerData.path);
database.pragma('busy_timeout = 5000');
const pageSize = database.pragma('page_size', { simple: true });
let asked = false;
// A reader that keeps an old snapshot (a long export) keeps the WAL from being wholly checkpointed: then the writer
// is asked again only after 1, 2, 4, then every 8 checks (2 s by default), not at every one.
let backoff = 1;
let skip = 0;
// A failure that lasts (a full disk) is reported once, not at every tick; a pass that works clears it.
let reported = '';
const report = (error) => {
  const message = String(error && error.message || error);
  if (message === reported) return;
  reported = message;
  parentPort.postMessage({ error: message });
};
const timer = setInterval(() => {
  if (asked) return;
  try {
    const [passive] = database.pragma('wal_checkpoint(PASSIVE)');
    reported = '';
    if (!workerData.holds || passive.log * pageSize <= workerData.limitBytes) return;
    if (skip > 0) { skip -= 1; return; }
    asked = true;
    parentPort.postMessage({ hold: true });
  } catch (error) { report(error); }
}, workerData.intervalMs);
// The test switch's longer hold: half of it before the checkpoint, half after (the thread sleeps; nothing else waits).
const pause = (ms) => { if (ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms); };
parentPort.on('message', (message) => {
  if (message === 'held') {
    pause(workerData.holdMs / 2);
    try {
      const [held] = database.pragma('wal_checkpoint(PASSIVE)');
      if (held.checkpointed < held.log) { skip = backoff; backoff = Math.min(backoff * 2, 8); } else backoff = 1;
    } catch (error) { report(error); }
    pause(workerData.holdMs / 2);
    asked = false;
    parentPort.postMessage({ release: true });
  } else if (message === 'stop') {
    clearInterval(timer);
    try { database.pragma('wal_checkpoint(PASSIVE)'); } catch {}
    database.close();
    process.exit(0);
  }
});
`;

/** The longest the writer is held if the checkpoint thread never answers. */
const longestHoldMs = 250;

/**
 * A test-only switch, so that a test can SIGKILL the gateway inside a hold: `COVENANT_TEST_WAL_HOLD=limit_bytes=N,
 * hold_ms=N,file=PATH` lowers the WAL limit, lengthens each hold by hold_ms (the thread waits half before its
 * checkpoint and half after) and writes `held <n>` to the file when hold n starts and `released <n>` when it ends.
 * Harmless: nothing is lost or skipped, commits only wait longer. Read here only; unset, it changes nothing.
 */
export const testHoldVariable = 'COVENANT_TEST_WAL_HOLD';

export interface TestHold {
  limitBytes?: number;
  holdMs: number;
  file?: string;
}

/** Parse the test switch's value; undefined when unset. Throws naming the variable when it is malformed. */
export function parseTestHold(value: string | undefined): TestHold | undefined {
  if (value === undefined || value === '') return undefined;
  const hold: TestHold = { holdMs: 0 };
  for (const part of value.split(',')) {
    const at = part.indexOf('=');
    const [name, text] = [part.slice(0, at), part.slice(at + 1)];
    const number = Number(text);
    if (name === 'file' && text.length > 0) hold.file = text;
    else if (name === 'limit_bytes' && Number.isSafeInteger(number) && number > 0) hold.limitBytes = number;
    else if (name === 'hold_ms' && Number.isSafeInteger(number) && number >= 0) hold.holdMs = number;
    else throw new Error(`${testHoldVariable}: "${part}" is not limit_bytes=N, hold_ms=N or file=PATH`);
  }
  return hold;
}

export interface Checkpointer {
  stop(): Promise<void>;
}

export interface CheckpointerOptions {
  path: string;
  /** How often to checkpoint (default 250 ms). */
  intervalMs?: number;
  /** The WAL size above which the writer is held for a checkpoint that lets the WAL start over (default 16 MiB). */
  limitBytes?: number;
  onError: (error: unknown) => void;
  /** The better-sqlite3 module's path (a worker started from source text resolves no packages by itself). */
  betterSqlitePath: string;
  /**
   * Pause and resume the database's commits (TurnQueue.hold and release) so that a checkpoint can restart the WAL.
   * Without one the writer must pause by itself (the budget fold thread writes once a second): the passes between its
   * writes copy the whole WAL, and SQLite starts it over.
   */
  writer?: { hold(): void; release(): void };
}

/** Checkpoint the WAL of `path` from a worker; the main connection's autocheckpoint is turned off by the caller. */
export function startCheckpointer(options: CheckpointerOptions): Checkpointer {
  const test = parseTestHold(process.env[testHoldVariable]);
  const holdMs = test?.holdMs ?? 0;
  const limitBytes = test?.limitBytes ?? options.limitBytes ?? 16 * 1024 * 1024;
  const worker = new Worker(workerSource, {
    eval: true,
    // None of the process's flags: the source is CommonJS (--input-type=module would make it ESM), and a worker given
    // a V8 flag (node --max-semi-space-size=N) refuses to start.
    execArgv: [],
    workerData: { path: options.path, intervalMs: options.intervalMs ?? 250, limitBytes, holdMs, module: options.betterSqlitePath, holds: options.writer !== undefined },
  });
  worker.unref();
  let holding: NodeJS.Timeout | undefined;
  let holds = 0;
  const signal = (text: string) => {
    if (test?.file !== undefined) writeFileSync(test.file, `${text} ${holds}\n`);
  };
  const release = () => {
    if (holding === undefined) return;
    clearTimeout(holding);
    holding = undefined;
    options.writer?.release();
    signal('released');
  };
  worker.on('message', (message: { error?: string; hold?: true; release?: true }) => {
    if (message.error !== undefined) options.onError(new Error(`WAL checkpoint: ${message.error}`));
    else if (message.release) release();
    else if (message.hold) {
      // Handled between turns: no commit is under way, so the checkpoint that follows can copy every frame. (The
      // thread asks once and waits for 'held' before it asks again.)
      options.writer?.hold();
      holds += 1;
      signal('held');
      holding = setTimeout(release, longestHoldMs + holdMs);
      worker.postMessage('held');
    }
  });
  worker.on('error', (error) => {
    release();
    options.onError(error);
  });
  // A thread that failed (its database could not be opened) has exited already: stopping it has nothing to wait for.
  let exited = false;
  worker.once('exit', () => {
    exited = true;
  });
  return {
    stop: () => new Promise((resolve) => {
      release();
      if (exited) {
        resolve();
        return;
      }
      worker.once('exit', () => resolve());
      // Waited for: an unreferenced thread would let the process end (exit code 13) before stop() resolves.
      worker.ref();
      worker.postMessage('stop');
    }),
  };
}
