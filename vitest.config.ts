// Test runner settings: integration tests start real servers and stores, so they get generous timeouts.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Compiles src/ to dist/ when the source changed, so tests that spawn bin/covenant never run a stale build.
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // expect.poll's own default (1 s) is short for a browser or a child process on a busy 2-core CI host.
    expect: { poll: { timeout: 5_000 } },
    pool: 'forks',
  },
});
