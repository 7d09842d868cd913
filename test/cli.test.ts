// The covenant CLI as a user runs it: `config check` messages and exit codes, `serve` start-up line and graceful stop,
// and how commands that act on a running gateway find it and its admin key.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createServer } from 'node:net';
import { main } from '../src/cli/main.js';
import { startFakeOpenAI } from './fakes/openai.js';
import { startTestGateway } from './helpers/gateway.js';
import { startServe } from './helpers/process.js';

const bin = fileURLToPath(new URL('../bin/covenant', import.meta.url));
const directory = mkdtempSync(join(tmpdir(), 'covenant-cli-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

function writeConfig(name: string, text: string): string {
  const file = join(directory, name);
  writeFileSync(file, text);
  return file;
}

function run(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [bin, ...args], { cwd: directory, encoding: 'utf8', env: { ...process.env, ...env } });
}

const valid = `
store: sqlite:data/covenant.db
providers:
  - { name: mock, type: mock, latency_ms: 400 }
models:
  - { alias: demo, provider: mock, version: mock-1 }
org:
  name: acme
  departments:
    - name: claims
      budgets: [ { usd: 5, period: day } ]
      keys:
        - { name: bot, key_env: BOT_KEY, models: [demo] }
`;

describe('covenant config check', () => {
  it('exits 0 with a summary for a valid file', () => {
    const result = run(['config', 'check', '--config', writeConfig('valid.yaml', valid)], { BOT_KEY: 'sk-x' });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('valid');
    expect(result.stdout).toContain('demo -> mock:mock-1');
    expect(result.stdout).toContain('department claims');
  });

  it('names file, line, column and field of an unknown field, and exits 2', () => {
    const file = writeConfig('unknown.yaml', valid.replace('budgets: [ { usd: 5, period: day } ]', 'budgets: [ { usd: 5, period: day, hard: true } ]'));
    const result = run(['config', 'check', '--config', file]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`${file}:11:`);
    expect(result.stderr).toContain('org.departments[0].budgets[0].hard');
    expect(result.stderr).toMatch(/unknown field "hard"/);
  });

  it('says what was expected for a wrong type and a dangling reference', () => {
    const wrongType = writeConfig('type.yaml', valid.replace('usd: 5', 'usd: five'));
    const typeResult = run(['config', 'check', '--config', wrongType]);
    expect(typeResult.status).toBe(2);
    expect(typeResult.stderr).toMatch(/type\.yaml:11:\d+: org\.departments\[0\]\.budgets\[0\]\.usd: expected number/);
    const dangling = writeConfig('reference.yaml', valid.replace('provider: mock, version', 'provider: mocky, version'));
    const referenceResult = run(['config', 'check', '--config', dangling]);
    expect(referenceResult.status).toBe(2);
    expect(referenceResult.stderr).toMatch(/reference\.yaml:6:\d+: models\[0\]\.provider: no provider named "mocky"/);
  });

  it('reports YAML syntax errors with their position and a missing file clearly', () => {
    const broken = writeConfig('broken.yaml', 'org:\n  name: [unclosed\n');
    const result = run(['config', 'check', '--config', broken]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/broken\.yaml:3:1: Flow sequence/);
    // An unquoted value with colons in it, at its own line and column, with what to do about it.
    const colons = writeConfig('colons.yaml', 'server: { host: 127.0.0.1, port: 0 }\nstore: sqlite::memory:\n');
    const colonsResult = run(['config', 'check', '--config', colons]);
    expect(colonsResult.status).toBe(2);
    expect(colonsResult.stderr).toMatch(/colons\.yaml:2:8: .*must be quoted, e\.g\. store: "sqlite::memory:"/);
    const missing = run(['config', 'check', '--config', join(directory, 'nope.yaml')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('file not found');
  });
});

describe('covenant serve', () => {
  it('prints the listening line, serves, and on SIGTERM finishes the in-flight request and exits 0', async () => {
    // A provider that holds its answer 400 ms, so SIGTERM can come once the request has reached it.
    const upstream = await startFakeOpenAI({ behaviour: { latencyMs: 400 } });
    onTestFinished(() => upstream.close());
    const file = writeConfig('serve.yaml', valid
      .replace('  - { name: mock, type: mock, latency_ms: 400 }', `  - { name: slow, type: openai-compatible, base_url: ${upstream.url} }`)
      .replace('  - { alias: demo, provider: mock, version: mock-1 }', '  - { alias: demo, provider: slow, version: slow-1, price: { input_per_mtok: 1, output_per_mtok: 1 } }'));
    const child = spawn(process.execPath, [bin, 'serve', '--config', file, '--port', '0'], { cwd: directory, env: { ...process.env, BOT_KEY: 'sk-bot' } });
    let output = '';
    child.stderr.on('data', (data: Buffer) => { output += data.toString(); });
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (data: Buffer) => {
        output += data.toString();
        const match = /covenant listening on (http:\/\/\S+)/.exec(output);
        if (match) resolve(match[1]!);
      });
      child.on('exit', () => reject(new Error(`serve exited early:\n${output}`)));
    });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const inFlight = fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-bot', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'demo', messages: [{ role: 'user', content: 'finish me' }] }),
    });
    await expect.poll(() => upstream.requests.length, { timeout: 10_000 }).toBe(1);
    child.kill('SIGTERM');
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect((await response.json()).choices[0].message.content).toContain('finish me');
    expect(await exited).toBe(0);
    expect(output).toContain('SIGTERM');
  });

  it('reloads the config on SIGHUP, and keeps the running config when the file is bad', async () => {
    const file = writeConfig('hup.yaml', valid);
    // startServe reports an early exit with the process's output (a test that waited for an exit already past would hang).
    const served = await startServe({ config: file, cwd: directory, environment: { BOT_KEY: 'sk-bot' } });
    const waitFor = (pattern: RegExp) => new Promise<RegExpExecArray>((resolve, reject) => {
      const timer = setInterval(() => {
        const match = pattern.exec(served.output());
        if (match) {
          clearInterval(timer);
          resolve(match);
        }
      }, 20);
      void served.exited.then((exit) => {
        clearInterval(timer);
        reject(new Error(`serve exited (${exit.signal ?? exit.code}):\n${served.output()}`));
      });
    });
    try {
      writeFileSync(file, valid.replace('usd: 5, period: day', 'usd: 7, period: day'));
      served.child.kill('SIGHUP');
      await waitFor(/config reloaded/);
      writeFileSync(file, valid.replace('usd: 5', 'usd: seven'));
      served.child.kill('SIGHUP');
      const failed = await waitFor(/reload failed, keeping the running config:\n(.+)/);
      expect(failed[1]).toMatch(/hup\.yaml:11:\d+: org\.departments\[0\]\.budgets\[0\]\.usd/);
    } finally {
      await served.stop('SIGTERM');
    }
  });

  it('refuses to serve a second process on the same embedded database, which would split its budgets', async () => {
    const file = writeConfig('twice.yaml', valid.replace('data/covenant.db', 'twice/covenant.db'));
    const first = spawn(process.execPath, [bin, 'serve', '--config', file, '--port', '0'], { cwd: directory, env: { ...process.env, BOT_KEY: 'sk-bot' } });
    const firstExited = new Promise((resolve) => first.on('exit', resolve));
    try {
      await new Promise<void>((resolve, reject) => {
        let output = '';
        first.stdout.on('data', (data: Buffer) => { output += data.toString(); if (output.includes('listening on')) resolve(); });
        first.on('exit', () => reject(new Error(output)));
      });
      const second = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [bin, 'serve', '--config', file, '--port', '0'], { cwd: directory, env: { ...process.env, BOT_KEY: 'sk-bot' } });
        let stderr = '';
        child.stderr.on('data', (data: Buffer) => { stderr += data.toString(); });
        child.on('exit', (code) => resolve({ code, stderr }));
      });
      expect(second.code).toBe(2);
      expect(second.stderr).toContain(`another covenant process (pid ${first.pid})`);
    } finally {
      first.kill('SIGTERM');
      await firstExited;
    }
  });

  it('refuses a bad --port with exit 2', () => {
    const result = run(['serve', '--port', 'eighty']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--port');
  });
});

/** Run the CLI from source with its output and environment injected; the exit code it set. */
async function runMain(args: string[], environment: Record<string, string | undefined> = {}) {
  let stdout = '';
  let stderr = '';
  process.exitCode = undefined;
  await main(args, { stdout: (text) => void (stdout += text), stderr: (text) => void (stderr += text), environment });
  const code = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { code, stdout, stderr };
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('commands that act on a running gateway', () => {
  let port = 0;
  beforeAll(async () => { port = await closedPort(); });
  const secrets = { OPS_KEY: 'sk-cli-ops', CLAIMS_ADMIN_KEY: 'sk-cli-claims-admin', BOT_KEY: 'sk-cli-bot' };
  // The first admin key's variable is unset, so the client takes the second; the config's port is not the gateway's.
  const gatewayConfig = `
server: { port: {{PORT}} }
store: sqlite:{{DB}}
admin_keys:
  - { name: unset, key_env: CLI_UNSET_ADMIN_KEY }
  - { name: claims-admin, key_env: CLAIMS_ADMIN_KEY, department: claims }
  - { name: ops, key_env: OPS_KEY }
providers: [ { name: mock, type: mock } ]
models: [ { alias: demo, provider: mock, version: mock-1 } ]
org:
  name: acme
  departments:
    - name: claims
      budgets: [ { usd: 5, period: day } ]
      keys: [ { name: bot, key_env: BOT_KEY } ]
    - name: hr
      budgets: [ { usd: 3, period: day } ]
`;

  it('finds the gateway by the address it recorded beside its store, and the admin key from the config', async () => {
    const gateway = await startTestGateway(gatewayConfig.replace('{{PORT}}', String(port)), secrets);
    const config = join(gateway.directory, 'covenant.yaml');
    const recorded = join(gateway.directory, 'gateway.json');
    try {
      expect(JSON.parse(readFileSync(recorded, 'utf8'))).toMatchObject({ url: gateway.url, pid: process.pid });
      // claims-admin is the first admin key whose variable is set: the report is narrowed to its department.
      const spend = await runMain(['spend', '--config', config, '--json'], secrets);
      expect(spend).toMatchObject({ code: 0, stderr: '' });
      expect(JSON.parse(spend.stdout).scopes.map((scope: { scope: string }) => scope.scope)).toEqual(['department:claims']);
      // --admin-key-env picks another key; COVENANT_CONFIG stands in for --config.
      const everything = await runMain(['spend', '--admin-key-env', 'OPS_KEY'], { ...secrets, COVENANT_CONFIG: config });
      expect(everything.code).toBe(0);
      expect(everything.stdout).toMatch(/^SCOPE\s+BUDGET/);
      expect(everything.stdout).toContain('department:hr');
      // --url wins over the recorded address.
      const wrong = await runMain(['spend', '--config', config, '--url', `http://127.0.0.1:${port}`], secrets);
      expect(wrong).toMatchObject({ code: 2, stderr: `covenant spend: cannot reach the gateway at http://127.0.0.1:${port}: ECONNREFUSED (address from --url)\n` });
    } finally {
      await gateway.close();
    }
    expect(existsSync(recorded)).toBe(false);
    // With the gateway gone, the config's server is next.
    const stopped = await runMain(['spend', '--config', config], secrets);
    expect(stopped).toMatchObject({ code: 2, stderr: expect.stringContaining(`cannot reach the gateway at http://127.0.0.1:${port}: ECONNREFUSED (address from server in ${config})`) });
    rmSync(gateway.directory, { recursive: true, force: true });
  });

  it('finds a `covenant serve` process by the address it records, which it removes when it stops', async () => {
    const folder = mkdtempSync(join(directory, 'served-'));
    const config = join(folder, 'covenant.yaml');
    writeFileSync(config, gatewayConfig.replace('{{PORT}}', String(port)).replace('{{DB}}', join(folder, 'covenant.db')));
    const child = spawn(process.execPath, [bin, 'serve', '--config', config, '--port', '0'], { cwd: directory, env: { ...process.env, ...secrets } });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    try {
      await new Promise<void>((resolve, reject) => {
        let output = '';
        child.stdout.on('data', (data: Buffer) => { output += data.toString(); if (output.includes('listening on')) resolve(); });
        child.on('exit', () => reject(new Error(output)));
      });
      expect(JSON.parse(readFileSync(join(folder, 'gateway.json'), 'utf8')).pid).toBe(child.pid);
      const spend = await runMain(['spend', '--config', config, '--admin-key-env', 'OPS_KEY'], secrets);
      expect(spend).toMatchObject({ code: 0, stdout: expect.stringContaining('department:hr') });
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    expect(existsSync(join(folder, 'gateway.json'))).toBe(false);
  });

  it('ignores an address recorded by a process that is no longer running', async () => {
    const folder = mkdtempSync(join(directory, 'stale-'));
    const config = join(folder, 'covenant.yaml');
    writeFileSync(config, gatewayConfig.replace('{{PORT}}', String(port)).replace('{{DB}}', join(folder, 'covenant.db')));
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    writeFileSync(join(folder, 'gateway.json'), JSON.stringify({ url: 'http://127.0.0.1:2', pid: dead, store: join(folder, 'covenant.db') }));
    const outcome = await runMain(['spend', '--config', config], secrets);
    expect(outcome).toMatchObject({ code: 2, stderr: expect.stringContaining(`at http://127.0.0.1:${port}: ECONNREFUSED (address from server in`) });
  });

  it('exits 2 saying which variables to set when no admin key is found, and for a missing or broken config', async () => {
    const folder = mkdtempSync(join(directory, 'nokey-'));
    const config = join(folder, 'covenant.yaml');
    writeFileSync(config, gatewayConfig.replace('{{PORT}}', String(port)).replace('{{DB}}', join(folder, 'covenant.db')));
    expect(await runMain(['spend', '--config', config])).toMatchObject({
      code: 2, stderr: 'covenant spend: no admin key: set one of CLI_UNSET_ADMIN_KEY, CLAIMS_ADMIN_KEY, OPS_KEY, COVENANT_ADMIN_KEY, or name the variable with --admin-key-env\n',
    });
    expect(await runMain(['spend', '--admin-key-env', 'NOT_SET'])).toMatchObject({ code: 2, stderr: expect.stringContaining('set NOT_SET to an admin key') });
    expect(await runMain(['spend', '--config', join(folder, 'absent.yaml')], secrets)).toMatchObject({ code: 2, stderr: expect.stringContaining('no config file at') });
    writeFileSync(config, 'org: { name: [x }\n');
    expect(await runMain(['spend', '--config', config], secrets)).toMatchObject({ code: 2, stderr: expect.stringMatching(/the config has errors:\n.*covenant\.yaml:\d+:\d+/) });
  });

  it('sends usage mistakes to the injected output with exit 2, and help with exit 0', async () => {
    const unknown = await runMain(['spend', '--bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown option '--bogus'");
    const help = await runMain(['spend', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--admin-key-env');
    expect(help.stdout).toContain('--config');
  });
});
