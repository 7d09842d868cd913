// How far V8 lets the gateway's heap grow past what a full collection left live, once the heap is large (env COVENANT_HEAP_GROWING_PERCENT).
import { getHeapStatistics, setFlagsFromString } from 'node:v8';

/**
 * The cap once the heap is large: the old space may reach twice what was live after the last full collection. Left
 * to itself, V8 picks up to four times under a high allocation rate (many end users' first requests), and keeps that
 * space committed.
 */
export const defaultHeapGrowingPercent = 100;

/**
 * The heap in use (live and not yet collected) above which the cap applies, and below which V8 chooses again. A small
 * heap is left to V8: capping it makes full collections more frequent for no memory worth saving (on the benchmark's
 * plain JSON path, 3.5% of throughput).
 */
export const heapCapAboveBytes = 256 * 1024 * 1024;
export const heapCapBelowBytes = 160 * 1024 * 1024;

/** The growing percent to use for a heap with `usedBytes` in use, given the one in force (0: V8 chooses). */
export function heapGrowingPercentFor(usedBytes: number, current: number, cap: number): number {
  if (usedBytes >= heapCapAboveBytes) return cap;
  if (usedBytes < heapCapBelowBytes) return 0;
  return current;
}

export interface HeapGrowth {
  /** The cap this process applies once its heap is large, or undefined when V8 always chooses. */
  cap: number | undefined;
  /** Read the heap now and set the flags if the cap (and compaction) should start or stop applying; returns the percent in force. */
  check(): number;
  stop(): void;
}

/**
 * Read the cap from `COVENANT_HEAP_GROWING_PERCENT` (0: V8 always chooses) unless the operator passed V8 the flag
 * themselves (node --heap-growing-percent=N or NODE_OPTIONS), and check the heap every `intervalMs`. V8 reads the
 * flag at every full collection, so setting it while the process runs takes effect. Throws on a value that is not a
 * whole number from 0 to 1000.
 */
export function applyHeapGrowth(
  environment: Record<string, string | undefined>,
  options: { execArgv?: readonly string[]; intervalMs?: number; usedBytes?: () => number; setFlags?: (flags: string) => void } = {},
): HeapGrowth {
  const execArgv = options.execArgv ?? process.execArgv;
  const given = [...execArgv, environment.NODE_OPTIONS ?? ''].some((flag) => /heap[-_]growing[-_]percent/.test(flag));
  const text = environment.COVENANT_HEAP_GROWING_PERCENT;
  const percent = text === undefined || text === '' ? defaultHeapGrowingPercent : Number(text);
  if (!Number.isInteger(percent) || percent < 0 || percent > 1000) {
    throw new Error(`COVENANT_HEAP_GROWING_PERCENT must be a whole number from 0 to 1000, not "${text}"`);
  }
  const cap = given || percent === 0 ? undefined : percent;
  const usedBytes = options.usedBytes ?? (() => getHeapStatistics().used_heap_size);
  const setFlags = options.setFlags ?? setFlagsFromString;
  let current = 0;
  const check = (): number => {
    if (cap === undefined) return current;
    const next = heapGrowingPercentFor(usedBytes(), current, cap);
    if (next !== current) {
      setFlags(`--heap-growing-percent=${next}`);
      // A large heap of per-user state that expires leaves its pages partly empty; unless every full collection also
      // compacts them, V8 keeps them committed (twice what is live and more). Read by V8 at each full collection too.
      setFlags(next > 0 ? '--compact-on-every-full-gc' : '--no-compact-on-every-full-gc');
      current = next;
    }
    return current;
  };
  const timer = cap === undefined ? undefined : setInterval(check, options.intervalMs ?? 2000);
  timer?.unref();
  return { cap, check, stop: () => clearInterval(timer) };
}
