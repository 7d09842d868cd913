// The gateway's V8 heap growing cap: off for a small heap, on once the heap is large, the environment variable, and
// an operator's own V8 flag winning.
import { describe, expect, it } from 'vitest';
import { applyHeapGrowth, defaultHeapGrowingPercent, heapCapAboveBytes, heapCapBelowBytes, heapGrowingPercentFor } from '../src/cli/heap-growth.js';

const mebibytes = (count: number) => count * 1024 * 1024;

/** A heap-growth controller over a heap size the test sets, recording the flags it gives V8. */
function controlled(environment: Record<string, string | undefined>, execArgv: readonly string[] = []) {
  let used = mebibytes(50);
  const flags: string[] = [];
  const growth = applyHeapGrowth(environment, { execArgv, intervalMs: 3_600_000, usedBytes: () => used, setFlags: (text) => flags.push(text) });
  return { growth, flags, setUsed: (bytes: number) => { used = bytes; } };
}

describe('heap growth of covenant serve', () => {
  it('leaves a small heap to V8 and caps a large one at twice what is live, compacted, with a gap so it does not flap', () => {
    const { growth, flags, setUsed } = controlled({});
    try {
      expect(growth.cap).toBe(defaultHeapGrowingPercent);
      expect(defaultHeapGrowingPercent).toBe(100);
      expect(growth.check()).toBe(0);
      expect(flags).toEqual([]);
      setUsed(heapCapAboveBytes);
      expect(growth.check()).toBe(100);
      setUsed(mebibytes(200));
      expect(growth.check()).toBe(100);
      setUsed(heapCapBelowBytes - 1);
      expect(growth.check()).toBe(0);
      // With the cap, every full collection compacts too (partly empty pages are given back); without it, V8 chooses.
      expect(flags).toEqual(['--heap-growing-percent=100', '--compact-on-every-full-gc', '--heap-growing-percent=0', '--no-compact-on-every-full-gc']);
    } finally {
      growth.stop();
    }
  });

  it('takes the cap from COVENANT_HEAP_GROWING_PERCENT; 0 leaves every heap to V8', () => {
    const fifty = controlled({ COVENANT_HEAP_GROWING_PERCENT: '50' });
    fifty.setUsed(mebibytes(400));
    expect(fifty.growth.check()).toBe(50);
    fifty.growth.stop();
    const none = controlled({ COVENANT_HEAP_GROWING_PERCENT: '0' });
    none.setUsed(mebibytes(400));
    expect(none.growth.cap).toBeUndefined();
    expect(none.growth.check()).toBe(0);
    expect(none.flags).toEqual([]);
  });

  it('leaves the factor to an operator who gave V8 the flag, on the command line or in NODE_OPTIONS', () => {
    for (const [environment, execArgv] of [[{ COVENANT_HEAP_GROWING_PERCENT: '50' }, ['--heap-growing-percent=30']], [{ NODE_OPTIONS: '--max-old-space-size=2048 --heap_growing_percent=30' }, []]] as const) {
      const { growth, flags, setUsed } = controlled(environment, execArgv);
      setUsed(mebibytes(400));
      expect(growth.check()).toBe(0);
      expect(flags).toEqual([]);
    }
  });

  it('refuses a value that is not a whole number from 0 to 1000', () => {
    for (const text of ['abc', '-5', '12.5', '5000']) {
      expect(() => applyHeapGrowth({ COVENANT_HEAP_GROWING_PERCENT: text }, { execArgv: [] })).toThrow(`must be a whole number from 0 to 1000, not "${text}"`);
    }
  });

  it('switches at the thresholds', () => {
    expect(heapGrowingPercentFor(heapCapAboveBytes - 1, 0, 100)).toBe(0);
    expect(heapGrowingPercentFor(heapCapAboveBytes - 1, 100, 100)).toBe(100);
    expect(heapGrowingPercentFor(heapCapBelowBytes, 100, 100)).toBe(100);
  });
});
