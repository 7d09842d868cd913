// Tests that read ../shared/data (public data sets, RFC 9162 vectors): skipped with a printed reason when it is absent, failed under CI=true.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'vitest';

/** The folder beside the project that holds the shared data sets (see its README.md). */
export const sharedDataFolder = fileURLToPath(new URL('../../../shared/data/', import.meta.url));

/** A test that receives the data's absolute path. */
export type SharedDataTest = (name: string, body: (path: string) => unknown, timeout?: number) => void;

export interface SharedData {
  /** Absolute path of the file or folder inside ../shared/data. */
  path: string;
  present: boolean;
  /** Declares a test that runs when the data is present; else it is skipped, or, under CI=true, fails saying what is missing. */
  test: SharedDataTest;
}

/** True when the environment says this is a CI run, where missing data is a failure rather than a skip. */
export function isContinuousIntegration(environment: NodeJS.ProcessEnv = process.env): boolean {
  return /^(true|1)$/i.test(environment.CI ?? '');
}

/** What to do with a test whose data is present or not: run it, skip it, or (under CI) fail it. */
export function sharedDataPlan(present: boolean, environment: NodeJS.ProcessEnv = process.env): 'run' | 'skip' | 'fail' {
  if (present) return 'run';
  return isContinuousIntegration(environment) ? 'fail' : 'skip';
}

/**
 * Find `relative` inside ../shared/data.
 * @example
 * const vectors = sharedData('merkle-vectors');
 * vectors.test('verifies every inclusion case', (folder) => { ... });
 */
export function sharedData(relative: string, environment: NodeJS.ProcessEnv = process.env): SharedData {
  const path = join(sharedDataFolder, relative);
  const present = existsSync(path);
  const reason = `${path} is absent (the shared data sets live in ../shared/data beside the project)`;
  const plan = sharedDataPlan(present, environment);
  if (plan === 'run') return { path, present, test: (name, body, timeout) => it(name, () => body(path), timeout) };
  if (plan === 'fail') {
    return { path, present, test: (name, _body, timeout) => it(name, () => { throw new Error(`CI=true and ${reason}`); }, timeout) };
  }
  console.log(`skipping tests that need shared data: ${reason}`);
  return { path, present, test: (name, body, timeout) => it.skip(name, () => body(path), timeout) };
}
