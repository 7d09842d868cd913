// The config names a store and a cache that belong together: a cache beside SQLite, or PostgreSQL without one, is a config error with its place.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfigText } from '../src/config/load.js';

const bin = fileURLToPath(new URL('../bin/covenant', import.meta.url));
const directory = mkdtempSync(join(tmpdir(), 'covenant-store-config-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const rest = `providers: [ { name: mock, type: mock } ]
models: [ { alias: demo, provider: mock, version: mock-1 } ]
org: { name: acme }
`;

function problemsOf(text: string): ConfigError['problems'] {
  try {
    parseConfigText(text, 'covenant.yaml');
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('store and cache', () => {
  it('refuses a cache beside an embedded SQLite store, at the cache line', () => {
    expect(problemsOf(`store: sqlite:data/covenant.db\ncache: redis://127.0.0.1:6379\n${rest}`)).toEqual([
      expect.objectContaining({ file: 'covenant.yaml', line: 2, column: 8, path: 'cache', message: expect.stringMatching(/only with store: postgres/) }),
    ]);
    // The default store is SQLite too.
    expect(problemsOf(`${rest}cache: redis://127.0.0.1:6379\n`)).toEqual([expect.objectContaining({ line: 4, path: 'cache' })]);
  });

  it('refuses a PostgreSQL store without a cache, at the store line', () => {
    expect(problemsOf(`${rest}store: postgres://covenant@db.internal/covenant\n`)).toEqual([
      expect.objectContaining({ line: 4, column: 8, path: 'store', message: expect.stringMatching(/needs cache: redis:/) }),
    ]);
  });

  it('accepts PostgreSQL with a cache, and SQLite without one', () => {
    expect(problemsOf(`store: postgres://covenant@db.internal/covenant\ncache: redis://redis.internal:6379\n${rest}`)).toEqual([]);
    expect(problemsOf(`store: sqlite:data/covenant.db\n${rest}`)).toEqual([]);
  });

  it('makes `covenant config check` exit 2 with file:line:column for a PostgreSQL store without a cache', () => {
    const file = join(directory, 'postgres.yaml');
    writeFileSync(file, `store: postgres://covenant@db.internal/covenant\n${rest}`);
    const result = spawnSync(process.execPath, [bin, 'config', 'check', '--config', file], { cwd: directory, encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`${file}:1:8: store: a postgres:// store needs cache`);
  });
});
