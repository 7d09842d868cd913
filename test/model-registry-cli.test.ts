// `covenant models …` as a user runs it (bin/covenant against a running gateway on the mock): the README walkthrough of a
// silent change caught and rolled back, the JSON output, usage errors, and contract warnings in `config check`.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import OpenAI from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../bin/covenant', import.meta.url));
const environment = { COVENANT_ADMIN_KEY: 'sk-cli-admin', APP_KEY: 'sk-cli-app' };

const config = `
store: sqlite:{{DB}}
admin_keys: [ { name: ops, key_env: COVENANT_ADMIN_KEY } ]
providers: [ { name: mock, type: mock } ]
models:
  - { alias: demo, provider: mock, version: mock-gpt-1, price: { input_per_mtok: 0.15, output_per_mtok: 0.6 } }
org:
  name: acme
  departments:
    - name: apps
      keys: [ { name: app, key_env: APP_KEY } ]
`;

let gateway: TestGateway;

beforeEach(async () => {
  gateway = await startTestGateway(config, environment);
});

afterEach(async () => {
  await gateway.stop();
});

async function covenant(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args, '--url', gateway.url], { env: { ...process.env, ...environment } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
  }
}

const ask = () => new OpenAI({ apiKey: environment.APP_KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0 })
  .chat.completions.create({ model: 'demo', messages: [{ role: 'user', content: 'What changed?' }] });

describe('covenant models', () => {
  it('catches a silent change of the mock and undoes it with one rollback (the README walkthrough)', async () => {
    await ask();
    const staged = await covenant(['models', 'stage', 'demo', '--version', 'mock-gpt-2', '--reason', 'new release']);
    expect(staged).toMatchObject({ code: 0 });
    expect(staged.stdout).toContain('Staged mock-gpt-2 as the candidate of demo (serving mock-gpt-1)');
    expect((await covenant(['models', 'promote', 'demo'])).stdout).toContain('demo: mock-gpt-1 -> mock-gpt-2 (promoted by ops)');
    expect((await ask()).model).toBe('mock-gpt-2');

    const mocked = await covenant(['models', 'mock', 'mock', '--version', 'mock-gpt-2', '--fingerprint', 'fp_mock_rev2', '--variant', 'alternate']);
    expect(mocked.code).toBe(0);
    expect(mocked.stdout).toContain('fingerprint=fp_mock_rev2');
    const switched = (await gateway.stores.ledger.entries({ kind: 'mock.changed', limit: 10 })).map((stored) => stored.entry);
    expect(switched.at(-1)).toMatchObject({ by: 'ops', provider: 'mock', behaviour: { version: 'mock-gpt-2', fingerprint: 'fp_mock_rev2', variant: 'alternate' } });
    const changed = await ask();
    expect(changed.system_fingerprint).toBe('fp_mock_rev2');
    expect(changed.choices[0]!.message.content).toMatch(/^Revised answer:/);
    await gateway.models.idle();

    const shown = await covenant(['models', 'show', 'demo']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('demo: serving mock-gpt-2, rollback to mock-gpt-1');
    expect(shown.stdout).toMatch(/mock-gpt-2\s+active\s+mock\s+2 .* fp_mock fp_mock_rev2 mock-gpt-2/);
    const history = await covenant(['models', 'history', 'demo', '--json']);
    const moves = JSON.parse(history.stdout) as Record<string, any>[];
    expect(moves.map((move) => move.action)).toEqual(['seeded', 'staged', 'promoted', 'version_changed']);
    expect(moves[3]).toMatchObject({ from_version: 'mock-gpt-2', detail: { changed: 'fingerprint', before: ['fp_mock'], after: 'fp_mock_rev2' } });

    const rolled = await covenant(['models', 'rollback', 'demo', '--reason', 'silent change']);
    expect(rolled.stdout).toContain('demo: mock-gpt-2 -> mock-gpt-1 (rolled_back by ops)');
    const after = await ask();
    expect(after.model).toBe('mock-gpt-1');
    expect(after.system_fingerprint).toBe('fp_mock');
    const list = JSON.parse((await covenant(['models', 'list', '--json'])).stdout) as Record<string, any>[];
    expect(list).toEqual([expect.objectContaining({ alias: 'demo', active: 'mock-gpt-1', candidate: null, blocked: null })]);
    const table = await covenant(['models', 'list']);
    expect(table.stdout).toMatch(/^ALIAS\s+ACTIVE\s+CANDIDATE/);
    expect(table.stdout).toMatch(/demo\s+mock-gpt-1\s+-\s+-\s+serving/);
  });

  it('acknowledges with ack, prints JSON with --json, and exits 2 on usage errors and refused moves', async () => {
    const ack = await covenant(['models', 'ack', 'demo', '--json']);
    expect(ack.code).toBe(0);
    expect(JSON.parse(ack.stdout)).toMatchObject({ action: 'acknowledged', alias: 'demo', by: 'ops' });
    expect((await covenant(['models', 'stage', 'demo'])).code).toBe(2);
    const promote = await covenant(['models', 'promote', 'demo']);
    expect(promote.code).toBe(2);
    expect(promote.stderr).toContain('has no staged candidate');
    expect((await covenant(['models', 'show', 'nope'])).code).toBe(2);
    expect((await covenant(['models', 'mock', 'mock'])).code).toBe(2);
    const show = JSON.parse((await covenant(['models', 'show', 'demo', '--json'])).stdout) as Record<string, any>;
    expect(show.contract.drift).toEqual({ min_similarity: 0.95, max_variance: 0.15, max_safety_failures: 0, window: '24h' });
  });
});

describe('covenant config check and contract terms', () => {
  it('warns of a deprecation notice shorter than the contract agrees', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'covenant-contract-'));
    try {
      const file = join(directory, 'covenant.yaml');
      writeFileSync(file, config.replace('store: sqlite:{{DB}}', `store: sqlite:${join(directory, 'c.db')}`).replace(
        'price: { input_per_mtok: 0.15, output_per_mtok: 0.6 } }',
        'price: { input_per_mtok: 0.15, output_per_mtok: 0.6 }, contract: { notice_days: 60, deprecation: { announced: "2099-01-01", sunset: "2099-01-31" } } }'));
      const { stdout } = await run(process.execPath, [bin, 'config', 'check', '--config', file], { env: { ...process.env, ...environment } });
      expect(stdout).toContain('warning: model "demo": the deprecation announced 2099-01-01 ends 2099-01-31, 30 days\' notice; the contract agrees 60');
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
