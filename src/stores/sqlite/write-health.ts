// Whether the embedded database's writers (the turn queue's commits, the budget journal) fail for want of disk space, for /healthz.
import type { HealthCheck } from '../types.js';

/** SQLite's SQLITE_FULL, or the file system's ENOSPC (the budget journal, the WAL). */
export function isDiskFull(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (code === 'SQLITE_FULL' || code === 'ENOSPC') return true;
  return error instanceof Error && /database or disk is full|no space left on device/i.test(error.message);
}

/**
 * The writers whose last write failed on a full disk. Each stays failed until the caller sees space again
 * (spaceReturned): on a full disk a small write (a checkpoint row) can still fit where a request's entry does not, so
 * one write that succeeds proves nothing. Other failures (a constraint, a bug) are the request's, not the store's
 * health: they are not recorded.
 *
 * @example health.record('budget journal', error); … if (freeSpace > limit) health.spaceReturned();
 */
export class WriteHealth {
  readonly #failures = new Map<string, unknown>();

  /** A write of `writer` succeeded (no error) or failed; true when it starts failing on a full disk. */
  record(writer: string, error?: unknown): boolean {
    if (error === undefined || !isDiskFull(error)) return false;
    const first = !this.#failures.has(writer);
    this.#failures.set(writer, error);
    return first;
  }

  /** Whether a writer's last write failed on a full disk. */
  get full(): boolean {
    return this.#failures.size > 0;
  }

  /** Space is back (free space on the database's file system): /healthz says so before the next write comes. */
  spaceReturned(): void {
    this.#failures.clear();
  }

  /** The check /healthz reports: not ok while the disk is full. */
  check(): HealthCheck {
    for (const [writer, error] of this.#failures) {
      return { name: 'sqlite', ok: false, problem: 'disk_full', error: `${writer}: ${error instanceof Error ? error.message : String(error)}` };
    }
    return { name: 'sqlite', ok: true };
  }
}
