// The timer that alerts overdue reviews: it ticks at a tenth of the shortest review window (between 0.2 s and 30 s).
import type { ResolvedSystem } from '../config/systems.js';

/** How often to look for overdue reviews so that an alert comes within a tenth of the window late. */
export function sweepIntervalMs(systems: Iterable<ResolvedSystem>): number {
  let shortest = Number.POSITIVE_INFINITY;
  for (const system of systems) shortest = Math.min(shortest, system.reviewWindowMs);
  return Math.max(200, Math.min(30_000, shortest / 10));
}

/** Start sweeping; returns the stop function. Each sweep waits for the previous one. */
export function startOverdueSweep(sweep: () => Promise<unknown>, systems: () => Iterable<ResolvedSystem>, onError: (error: unknown, where: string) => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      sweep().catch((error) => onError(error, 'overdue review sweep')).finally(schedule);
    }, sweepIntervalMs(systems()));
    timer.unref();
  };
  schedule();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
