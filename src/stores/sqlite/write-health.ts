// Whether the embedded database's writers can write (the turn queue's commits, the budget journal), for /healthz.
import type { HealthCheck } from '../types.js';

/** SQLite's SQLITE_FULL, or the file system's ENOSPC (the budget journal, the WAL). */
export function isDiskFull(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (code === 'SQLITE_FULL' || code === 'ENOSPC') return true;
  return error instanceof Error && /database or disk is full|no space left on device/i.test(error.message);
}

/**
 * The last outcome of each writer: a writer whose last write failed makes the store unhealthy until one succeeds, or,
 * when it failed for want of space, until the caller sees space again (spaceReturned): on a full disk a small write
 * (a checkpoint row) can still fit where a request's entry does not.
 *
 * @example health.record('budget journal', error); … health.record('budget journal'); // written again
 */
export class WriteHealth {
  readonly #failures = new Map<string, unknown>();

  /** A write of `writer` succeeded (no error) or failed; true when it failed after the last one succeeded. */
  record(writer: string, error?: unknown): boolean {
    if (error === undefined) {
      if (this.#failures.size > 0 && !isDiskFull(this.#failures.get(writer))) this.#failures.delete(writer);
      return false;
    }
    const first = !this.#failures.has(writer);
    this.#failures.set(writer, error);
    return first;
  }

  /**
   * Space is back (the caller saw free space on the database's file system): forget the failures of a full disk, so
   * /healthz says so before the next write, which a balancer that stopped routing on its 503 would never send.
   */
  spaceReturned(): void {
    for (const [writer, error] of this.#failures) if (isDiskFull(error)) this.#failures.delete(writer);
  }

  /** The check /healthz reports: not ok while a writer's last write failed, naming a full disk as such. */
  check(): HealthCheck {
    for (const [writer, error] of this.#failures) {
      const message = error instanceof Error ? error.message : String(error);
      return { name: 'sqlite', ok: false, problem: isDiskFull(error) ? 'disk_full' : 'write_failed', error: `${writer}: ${message}` };
    }
    return { name: 'sqlite', ok: true };
  }
}
