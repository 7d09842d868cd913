// The benchmark scripts still run against the current build: tiny ledger and scale benchmarks end to end, and run.mjs's options.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const projectRoot = fileURLToPath(new URL('..', import.meta.url));

function runNode(args: string[], environment: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: projectRoot, env: { ...process.env, ...environment }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('benchmark scripts', () => {
  it('bench/ledger.mjs appends through the store as the gateway opens it and proves over a small tree', async () => {
    const { code, stdout, stderr } = await runNode(['bench/ledger.mjs'], {
      LEDGER_BENCH_APPENDS: '2000', LEDGER_BENCH_SIZE: '5000', LEDGER_BENCH_SQLITE_SIZE: '0',
    });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/append \(SQLite store, 10 per batch\)\s*\|\s*[\d,]+ \/s/);
    expect(stdout).toMatch(/inclusion proof, 5,000 leaves \(memory\)/);
  });

  it('bench/prune-pass.mjs prunes the limit\'s worth of closed counters out of a store of open and closed ones', async () => {
    const { code, stdout, stderr } = await runNode(['bench/prune-pass.mjs', '--users', '3000', '--closed', '500', '--limit', '200']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('built 6,603 counter rows');
    expect(stdout).toMatch(/pass: 200 pruned \(200 reported\) in \d+ ms/);
  });

  it('bench/run.mjs lists --node-flags and refuses an unknown scenario with exit 2', async () => {
    const help = await runNode(['bench/run.mjs', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--node-flags=F');
    const wrong = await runNode(['bench/run.mjs', '--only', 'nonsense']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('unknown scenario "nonsense"');
  });

  it('bench/scale.mjs serves keys made through the API and written to the store, every request answered', async () => {
    const { code, stdout, stderr } = await runNode(['bench/scale.mjs', '--keys', '40', '--api-keys', '5', '--users', '300', '--seconds', '1', '--connections', '4']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    // Every phase answered every request (errors 0): the 10-key run, every user's first request, returning users; each
    // with the gateway's CPU per request and the main thread's share of it.
    expect(stdout).toMatch(/\| 10 keys, 10 users: steady state \(1 s\) \| \d+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| 0 \| \d+ MB \|/);
    expect(stdout).toMatch(/\| 40 keys, 300 users: first request of every user \(300 requests\) \| \d+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| 0 \| \d+ MB after all 300 \|/);
    expect(stdout).toMatch(/\| 40 keys, 300 users: returning users, steady state \(1 s\) \| \d+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| 0 \| \d+ MB \|/);
    expect(stdout).toMatch(/throughput ratio [\d.]+, p99 ratio [\d.]+, CPU per request ratio [\d.]+ \(main thread [\d.]+\)/);
    // The event loop's longest delay and p99 in each phase, read from the gateway's /metrics.
    expect(stdout).toMatch(/event-loop delay, longest \/ p99 [^:]*: 10 keys \d+ \/ \d+ ms; first requests \d+ \/ \d+ ms; returning users \d+ \/ \d+ ms/);
  }, 120_000);
});
