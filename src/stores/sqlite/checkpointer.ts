// Moves SQLite's WAL checkpoints (the only fsyncs in WAL + synchronous=NORMAL) off the event loop into a worker thread.
import { Worker } from 'node:worker_threads';

const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const database = new Database(workerData.path);
database.pragma('busy_timeout = 5000');
const timer = setInterval(() => {
  try { database.pragma('wal_checkpoint(PASSIVE)'); } catch (error) { parentPort.postMessage(String(error && error.message || error)); }
}, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message === 'stop') { clearInterval(timer); try { database.pragma('wal_checkpoint(PASSIVE)'); } catch {} database.close(); process.exit(0); }
});
`;

export interface Checkpointer {
  stop(): Promise<void>;
}

/** Checkpoint the WAL of `path` every `intervalMs` from a worker; the main connection's autocheckpoint is turned off by the caller. */
export function startCheckpointer(path: string, intervalMs: number, onError: (error: unknown) => void, betterSqlitePath: string): Checkpointer {
  const worker = new Worker(workerSource, { eval: true, workerData: { path, intervalMs, module: betterSqlitePath } });
  worker.unref();
  worker.on('message', (message: string) => onError(new Error(`WAL checkpoint: ${message}`)));
  worker.on('error', onError);
  return {
    stop: () => new Promise((resolve) => {
      worker.once('exit', () => resolve());
      worker.postMessage('stop');
    }),
  };
}
