// The gateway's V8 heap growing factor: its default, the environment variable, and an operator's own V8 flag winning.
import { describe, expect, it } from 'vitest';
import { applyHeapGrowth, defaultHeapGrowingPercent } from '../src/cli/heap-growth.js';

describe('heap growth of covenant serve', () => {
  it('lets the old space grow to twice what was live by default, or what COVENANT_HEAP_GROWING_PERCENT says', () => {
    expect(applyHeapGrowth({}, [])).toBe(defaultHeapGrowingPercent);
    expect(defaultHeapGrowingPercent).toBe(100);
    expect(applyHeapGrowth({ COVENANT_HEAP_GROWING_PERCENT: '50' }, [])).toBe(50);
    expect(applyHeapGrowth({ COVENANT_HEAP_GROWING_PERCENT: '0' }, [])).toBeUndefined();
  });

  it('leaves the factor to an operator who gave V8 the flag, on the command line or in NODE_OPTIONS', () => {
    expect(applyHeapGrowth({ COVENANT_HEAP_GROWING_PERCENT: '50' }, ['--heap-growing-percent=30'])).toBeUndefined();
    expect(applyHeapGrowth({ NODE_OPTIONS: '--max-old-space-size=2048 --heap_growing_percent=30' }, [])).toBeUndefined();
  });

  it('refuses a value that is not a whole number from 0 to 1000', () => {
    for (const text of ['abc', '-5', '12.5', '5000']) {
      expect(() => applyHeapGrowth({ COVENANT_HEAP_GROWING_PERCENT: text }, [])).toThrow(`must be a whole number from 0 to 1000, not "${text}"`);
    }
  });
});
