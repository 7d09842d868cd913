// The shared-data rule: a test whose data set is missing is skipped on a workstation and fails under CI=true.
import { describe, expect, it } from 'vitest';
import { sharedData, sharedDataPlan } from './helpers/shared-data.js';

describe('tests that need ../shared/data', () => {
  it('run when the data is there, whatever CI says', () => {
    expect(sharedDataPlan(true, {})).toBe('run');
    expect(sharedDataPlan(true, { CI: 'true' })).toBe('run');
  });

  it('are skipped when the data is absent outside CI, and fail under CI=true', () => {
    expect(sharedDataPlan(false, {})).toBe('skip');
    expect(sharedDataPlan(false, { CI: 'false' })).toBe('skip');
    expect(sharedDataPlan(false, { CI: 'true' })).toBe('fail');
    expect(sharedDataPlan(false, { CI: '1' })).toBe('fail');
  });

  it('look for the data beside the project', () => {
    const absent = sharedData('no-such-data-set', {});
    expect(absent.present).toBe(false);
    expect(absent.path).toMatch(/[\\/]shared[\\/]data[\\/]no-such-data-set$/);
  });
});
