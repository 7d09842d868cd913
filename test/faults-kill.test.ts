// SIGKILL of `covenant serve` at awkward moments (during a config reload; under write load while the WAL checkpoint
// thread runs every 250 ms; inside a WAL hold, while the checkpointer holds every commit), then a restart on the same
// database: `covenant audit verify` passes, every answered request has its ledger entry, spend is never under the
// fake provider's bill and no reservation is left.
// Guards: the turn queue acknowledges nothing before its COMMIT, held or not (stores/sqlite/turn.ts); the budget
// journal's line before a reservation is granted (stores/sqlite/budget-store.ts); SQLite's WAL recovery.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from './fakes/openai.js';
import { killStarted, runCovenant, startServe, type ServeProcess } from './helpers/process.js';

const version = 'gpt-4o-mini-2024-07-18';
const price = { input_per_mtok: 10, output_per_mtok: 30 };
const adminKey = 'sk-kill-admin';
const environment = { ADMIN_KEY: adminKey, KEY_A: 'sk-kill-a' };

let upstream: FakeOpenAI | undefined;
let directory: string | undefined;
afterEach(async () => {
  await killStarted();
  await upstream?.close();
  if (directory) rmSync(directory, { recursive: true, force: true });
  upstream = undefined;
  directory = undefined;
});

function setUp(upstreamUrl: string, usd: number): { config: string; database: string } {
  directory = mkdtempSync(join(tmpdir(), 'covenant-kill-'));
  const database = join(directory, 'covenant.db');
  const config = join(directory, 'covenant.yaml');
  writeFileSync(config, `
store: sqlite:${database}
admin_keys: [ { name: ops, key_env: ADMIN_KEY } ]
providers: [ { name: openai, type: openai, base_url: ${upstreamUrl} } ]
models: [ { alias: fast, provider: openai, version: ${version}, price: { input_per_mtok: ${price.input_per_mtok}, output_per_mtok: ${price.output_per_mtok} } } ]
org:
  name: acme
  departments:
    - name: claims
      budgets: [ { usd: ${usd}, period: total } ]
      keys: [ { name: bot-a, key_env: KEY_A } ]
`);
  return { config, database };
}

interface Answered { requestId: string | null; status: number }

/** Requests in a loop from 6 clients until the process dies; the ones fully received are kept. */
function traffic(gateway: ServeProcess): { answered: Answered[]; done: Promise<void> } {
  const answered: Answered[] = [];
  const clients = Array.from({ length: 6 }, async (_, client) => {
    for (let index = 0; ; index++) {
      const stream = (client + index) % 2 === 0;
      try {
        const response = await fetch(`${gateway.url}/v1/chat/completions`, {
          method: 'POST', headers: { authorization: `Bearer ${environment.KEY_A}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'fast', max_tokens: 20, stream, messages: [{ role: 'user', content: `kill ${client}-${index} ${'x'.repeat(500)}` }] }),
        });
        const text = await response.text();
        if (response.status === 200 && stream && !text.includes('data: [DONE]')) return;
        if (!stream || response.status !== 200) JSON.parse(text);
        answered.push({ requestId: response.headers.get('x-covenant-request-id'), status: response.status });
      } catch {
        return; // the kill cut it
      }
    }
  });
  return { answered, done: Promise.all(clients).then(() => undefined) };
}

async function billSettled(fake: FakeOpenAI, quietMs = 300): Promise<number> {
  let last = -1;
  while (fake.bill.costMicros !== last) {
    last = fake.bill.costMicros;
    await new Promise((resolve) => setTimeout(resolve, quietMs));
  }
  return last;
}

/** After the kill: the log verifies and holds every answered request; after a restart nothing is reserved and spend ≥ bill. */
async function checkAfterKill(setup: { config: string; database: string }, answered: Answered[], fake: FakeOpenAI): Promise<void> {
  const verify = await runCovenant(['audit', 'verify', '--data', setup.database]);
  expect(verify.code, `audit verify: ${verify.stdout}${verify.stderr}`).toBe(0);
  const listed = await runCovenant(['audit', 'entries', '--data', setup.database, '--from', '0', '--limit', '100000', '--json']);
  expect(listed.code, listed.stderr).toBe(0);
  const entries = JSON.parse(listed.stdout) as { seq: number; kind: string; request_id?: string }[];
  expect(entries.map((entry) => entry.seq)).toEqual(entries.map((_, index) => index));
  const logged = new Set(entries.filter((entry) => entry.kind === 'inference').map((entry) => entry.request_id));
  expect(answered.filter((answer) => !answer.requestId || !logged.has(answer.requestId)), 'answered without an entry').toEqual([]);
  const billed = await billSettled(fake);
  const second = await startServe({ config: setup.config, environment, cwd: directory });
  const report = await (await fetch(`${second.url}/admin/spend?scope=department:claims`, { headers: { authorization: `Bearer ${adminKey}` } })).json() as { scopes: { budgets: { spent_micros: number; reserved_micros: number }[] }[] };
  const budget = report.scopes[0]!.budgets[0]!;
  expect(budget.reserved_micros).toBe(0);
  expect(budget.spent_micros).toBeGreaterThanOrEqual(billed);
  expect((await second.stop('SIGTERM')).code).toBe(0);
}

describe('SIGKILL of covenant serve', () => {
  it('during a config reload (SIGHUP, then SIGKILL while it reloads under traffic)', async () => {
    upstream = await startFakeOpenAI({ prices: { [version]: price }, outputTokens: 20, behaviour: { latencyMs: 20, tokenDelayMs: 2 } });
    const setup = setUp(upstream.url, 100);
    const gateway = await startServe({ config: setup.config, environment, cwd: directory });
    const load = traffic(gateway);
    // Answers of every kind behind the kill (a cold gateway's first answers take a moment on a busy machine).
    await expect.poll(() => load.answered.length, { timeout: 15_000, interval: 50 }).toBeGreaterThanOrEqual(10);
    // A changed config, so the reload has work to do (a new budget figure), then the kill a few ms into it.
    writeFileSync(setup.config, readFileSync(setup.config, 'utf8').replace('usd: 100,', 'usd: 90,'));
    gateway.child.kill('SIGHUP');
    await new Promise((resolve) => setTimeout(resolve, 5));
    gateway.child.kill('SIGKILL');
    await gateway.exited;
    await load.done;
    expect(load.answered.length).toBeGreaterThanOrEqual(10);
    await checkAfterKill(setup, load.answered, upstream);
  }, 60_000);

  it('under write load while the WAL checkpoint thread runs (killed at three moments, restarted each time)', async () => {
    upstream = await startFakeOpenAI({ prices: { [version]: price }, outputTokens: 20, behaviour: { latencyMs: 2, tokenDelayMs: 0 } });
    const setup = setUp(upstream.url, 100);
    const answered: Answered[] = [];
    // Checkpoints run every 250 ms; kills 610, 870 and 1130 ms into the load fall at different points of that cycle.
    for (const afterMs of [610, 870, 1130]) {
      const gateway = await startServe({ config: setup.config, environment, cwd: directory });
      const load = traffic(gateway);
      await expect.poll(() => load.answered.length, { timeout: 15_000, interval: 20 }).toBeGreaterThanOrEqual(1);
      await new Promise((resolve) => setTimeout(resolve, afterMs));
      gateway.child.kill('SIGKILL');
      await gateway.exited;
      await load.done;
      answered.push(...load.answered);
      const verify = await runCovenant(['audit', 'verify', '--data', setup.database]);
      expect(verify.code, `audit verify after a kill at ${afterMs} ms: ${verify.stdout}${verify.stderr}`).toBe(0);
    }
    expect(answered.length).toBeGreaterThan(20);
    await checkAfterKill(setup, answered, upstream);
  }, 90_000);

  it('inside a WAL hold (the checkpointer holding every commit), killed at three moments of the hold', async () => {
    upstream = await startFakeOpenAI({ prices: { [version]: price }, outputTokens: 20, behaviour: { latencyMs: 2, tokenDelayMs: 0 } });
    const setup = setUp(upstream.url, 100);
    // The test switch (stores/sqlite/checkpointer.ts): a 64 KiB WAL limit instead of 16 MiB, so holds come after a
    // few dozen requests; each hold lasts 1.2 s longer (the checkpoint in its middle) and is announced in a file.
    const signal = join(directory!, 'wal-hold');
    const holdMs = 1200;
    const holding = { ...environment, COVENANT_TEST_WAL_HOLD: `limit_bytes=65536,hold_ms=${holdMs},file=${signal}` };
    const answered: Answered[] = [];
    // Before the checkpoint, about when it runs, and after it (before the release).
    for (const intoHoldMs of [100, holdMs / 2, holdMs - 150]) {
      rmSync(signal, { force: true });
      const gateway = await startServe({ config: setup.config, environment: holding, cwd: directory });
      const load = traffic(gateway);
      // A hold that starts once this run has answered a few requests (the first may come at start, over the migrations).
      const inHold = () => load.answered.length >= 8 && existsSync(signal) && readFileSync(signal, 'utf8').startsWith('held ');
      await expect.poll(inHold, { timeout: 30_000, interval: 5 }).toBe(true);
      const hold = readFileSync(signal, 'utf8');
      await new Promise((resolve) => setTimeout(resolve, intoHoldMs));
      gateway.child.kill('SIGKILL');
      await gateway.exited;
      await load.done;
      // The kill landed inside the hold that was announced: it never ended.
      expect(readFileSync(signal, 'utf8'), `killed ${intoHoldMs} ms into a hold`).toBe(hold);
      answered.push(...load.answered);
      const verify = await runCovenant(['audit', 'verify', '--data', setup.database]);
      expect(verify.code, `audit verify after a kill ${intoHoldMs} ms into a hold: ${verify.stdout}${verify.stderr}`).toBe(0);
    }
    expect(answered.length).toBeGreaterThan(20);
    await checkAfterKill(setup, answered, upstream);
  }, 120_000);
});
