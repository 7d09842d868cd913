// One gateway process per embedded database: budgets are counted in that process's memory, so a second
// `covenant serve` on the same file would break the hard stop. A pid lock file next to the database prevents it.
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export interface OwnerLock {
  release(): void;
}

/** Whether a process with this id is running (EPERM: it is, under another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Take `${databasePath}.lock`; a lock left by a dead process (a crash) is taken over. */
export function takeOwnerLock(databasePath: string): OwnerLock {
  const path = `${databasePath}.lock`;
  mkdirSync(dirname(path), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const descriptor = openSync(path, 'wx');
      writeSync(descriptor, String(process.pid));
      closeSync(descriptor);
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          try {
            if (readFileSync(path, 'utf8') === String(process.pid)) unlinkSync(path);
          } catch {
            // already gone
          }
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(readFileSync(path, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && processAlive(owner)) {
        throw new Error(`another covenant process (pid ${owner}) is serving ${databasePath}; one process per embedded database (use store: postgres:// and cache: redis:// for replicas)`);
      }
      // Stale: its process is gone (crash or kill -9).
      unlinkSync(path);
    }
  }
  throw new Error(`cannot take the lock ${path}`);
}
