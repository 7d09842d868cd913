// How far V8 lets the gateway's heap grow past what a full garbage collection left live (env COVENANT_HEAP_GROWING_PERCENT).
import { setFlagsFromString } from 'node:v8';

/**
 * The default: the old space may reach twice what was live after the last full collection. Left to itself, V8 picks
 * up to four times under a high allocation rate (many end users' first requests), and keeps that space committed.
 */
export const defaultHeapGrowingPercent = 100;

/**
 * Set V8's heap growing factor for this process from `COVENANT_HEAP_GROWING_PERCENT` (0: V8's own choice), unless
 * the operator passed V8 the flag themselves (node --heap-growing-percent=N or NODE_OPTIONS). V8 reads the flag at
 * every full collection, so setting it once the process runs takes effect. Returns the percent in force, or
 * undefined when V8 chooses; throws on a value that is not a whole number from 0 to 1000.
 */
export function applyHeapGrowth(environment: Record<string, string | undefined>, execArgv: readonly string[] = process.execArgv): number | undefined {
  const given = [...execArgv, environment.NODE_OPTIONS ?? ''].some((flag) => /heap[-_]growing[-_]percent/.test(flag));
  if (given) return undefined;
  const text = environment.COVENANT_HEAP_GROWING_PERCENT;
  const percent = text === undefined || text === '' ? defaultHeapGrowingPercent : Number(text);
  if (!Number.isInteger(percent) || percent < 0 || percent > 1000) {
    throw new Error(`COVENANT_HEAP_GROWING_PERCENT must be a whole number from 0 to 1000, not "${text}"`);
  }
  if (percent === 0) return undefined;
  setFlagsFromString(`--heap-growing-percent=${percent}`);
  return percent;
}
