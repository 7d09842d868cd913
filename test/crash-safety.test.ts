// Crash safety through the real CLI process: `kill -9` mid-traffic, restart on the same
// database; budgets never under-count and the provider's bill stays within the budget; no answered request's ledger entry is lost.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from './fakes/openai.js';
import { killStarted, runCovenant, startServe, type ServeProcess } from './helpers/process.js';

const version = 'gpt-4o-mini-2024-07-18';
const price = { input_per_mtok: 10, output_per_mtok: 30 };
const adminKey = 'sk-crash-admin';
const environment = { ADMIN_KEY: adminKey, KEY_A: 'sk-a', KEY_B: 'sk-b', KEY_BROKE: 'sk-broke' };
/** The department's budget: $0.20 in total (a `total` period, so the test cannot straddle a window rollover). */
const limitMicros = 200_000;

let upstream: FakeOpenAI | undefined;
let directory: string | undefined;
afterEach(async () => {
  await killStarted();
  await upstream?.close();
  if (directory) rmSync(directory, { recursive: true, force: true });
  upstream = undefined;
  directory = undefined;
});

interface Setup { config: string; database: string }

/** A department with a $0.20 budget and three keys; "broke" has a key budget too small for any answer (always 402). */
function setUp(upstreamUrl: string): Setup {
  directory = mkdtempSync(join(tmpdir(), 'covenant-crash-'));
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
      budgets: [ { usd: ${limitMicros / 1e6}, period: total } ]
      keys:
        - { name: bot-a, key_env: KEY_A }
        - { name: bot-b, key_env: KEY_B }
        - { name: broke, key_env: KEY_BROKE, budgets: [ { usd: 0.0001, period: total } ] }
`);
  return { config, database };
}

type Outcome =
  | { state: 'done'; index: number; status: number; requestId: string | null; stream: boolean; finishedBeforeKill: boolean }
  | { state: 'cut'; index: number; stream: boolean };

/** Send one chat request and read its body to the end; a connection cut by the kill is an outcome, not an error. */
async function chat(url: string, index: number, key: string, stream: boolean, killed: () => boolean, maxTokens = 50): Promise<Outcome> {
  try {
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'fast', max_tokens: maxTokens, stream, messages: [{ role: 'user', content: `claim number ${index}, please summarise` }] }),
    });
    const text = await response.text();
    // A stream is fully received only with its terminator; a JSON body only when it parses.
    if (response.status === 200 && stream && !text.includes('data: [DONE]')) return { state: 'cut', index, stream };
    if (!stream || response.status !== 200) JSON.parse(text);
    return { state: 'done', index, status: response.status, requestId: response.headers.get('x-covenant-request-id'), stream, finishedBeforeKill: !killed() };
  } catch {
    return { state: 'cut', index, stream };
  }
}

interface KilledRun { outcomes: Outcome[]; exit: { code: number | null; signal: NodeJS.Signals | null } }

/**
 * Fire 60 concurrent requests at a slow upstream (300 ms latency, 30 ms a token) and `kill -9` the gateway mid-traffic:
 * every tenth is on the "broke" key (refused at once), the odd ones are not streamed (done after the latency), the
 * even ones are streams of 4 tokens (done about 150 ms later) or of 40 (1.2 s later). The kill comes once 8 short
 * streams are complete, so answered requests of every kind are behind it and the long streams are in flight.
 */
async function trafficThenKill(gateway: ServeProcess): Promise<KilledRun> {
  let killed = false;
  let completedStreams = 0;
  const requests = Array.from({ length: 60 }, (_, index) => {
    const key = index % 10 === 9 ? 'sk-broke' : index % 2 === 0 ? 'sk-a' : 'sk-b';
    const stream = index % 2 === 0;
    return chat(gateway.url, index, key, stream, () => killed, stream && index % 4 === 0 ? 4 : 50).then((outcome) => {
      if (outcome.state === 'done' && outcome.stream && ++completedStreams === 8 && !killed) {
        killed = true;
        gateway.child.kill('SIGKILL');
      }
      return outcome;
    });
  });
  // If too few complete (a regression), kill anyway so the test reports instead of hanging.
  const fallback = setTimeout(() => {
    killed = true;
    gateway.child.kill('SIGKILL');
  }, 8_000);
  const outcomes = await Promise.all(requests);
  clearTimeout(fallback);
  return { outcomes, exit: await gateway.exited };
}

/** Wait until the fake provider has billed everything it is going to: no change for `quietMs`. */
async function billSettled(fake: FakeOpenAI, quietMs = 400): Promise<number> {
  let last = -1;
  while (fake.bill.costMicros !== last) {
    last = fake.bill.costMicros;
    await new Promise((resolve) => setTimeout(resolve, quietMs));
  }
  return last;
}

interface SpendBudget { unit: string; period: string; limit_micros: number; spent_micros: number; reserved_micros: number; remaining_micros: number }

async function departmentSpend(url: string): Promise<SpendBudget> {
  const response = await fetch(`${url}/admin/spend?scope=department:claims`, { headers: { authorization: `Bearer ${adminKey}` } });
  expect(response.status).toBe(200);
  const report = (await response.json()) as { scopes: { scope: string; budgets: SpendBudget[] }[] };
  expect(report.scopes.map((scope) => scope.scope)).toEqual(['department:claims']);
  return report.scopes[0]!.budgets[0]!;
}

describe('budgets after kill -9 mid-traffic', () => {
  it('counts every in-flight reservation at its worst case after restart, and the bill never exceeds the budget', async () => {
    upstream = await startFakeOpenAI({ prices: { [version]: price }, outputTokens: 40, behaviour: { latencyMs: 300, tokenDelayMs: 30 } });
    const setup = setUp(upstream.url);
    const first = await startServe({ config: setup.config, environment, cwd: directory });
    const { outcomes, exit } = await trafficThenKill(first);
    expect(exit.signal).toBe('SIGKILL');
    const done = outcomes.filter((outcome) => outcome.state === 'done');
    const cut = outcomes.filter((outcome) => outcome.state === 'cut');
    // The scenario is only a test if the kill hit requests in flight, streamed ones among them.
    expect(done.length).toBeGreaterThanOrEqual(30);
    expect(cut.length).toBeGreaterThanOrEqual(10);
    expect(cut.filter((outcome) => outcome.stream).length).toBeGreaterThanOrEqual(10);
    expect(done.filter((outcome) => outcome.status === 402).length).toBeGreaterThan(0);
    expect(done.every((outcome) => outcome.status === 200 || outcome.status === 402)).toBe(true);
    const billedBeforeRestart = await billSettled(upstream);
    expect(billedBeforeRestart).toBeGreaterThan(0);

    const second = await startServe({ config: setup.config, environment, cwd: directory });
    const recovered = await departmentSpend(second.url);
    expect(recovered.limit_micros).toBe(limitMicros);
    expect(recovered.reserved_micros).toBe(0);
    // Never under-counted: whatever the provider billed for the cut requests is in the spend (at its worst case).
    expect(recovered.spent_micros).toBeGreaterThanOrEqual(billedBeforeRestart);
    expect(recovered.spent_micros).toBeLessThanOrEqual(limitMicros);

    // Keep spending, faster now, until the budget refuses everything.
    upstream.setBehaviour({ latencyMs: 2 });
    let batch = 0;
    let allRefused = false;
    let served = 0;
    while (!allRefused && batch < 40) {
      const results = await Promise.all(Array.from({ length: 20 }, (_, index) =>
        chat(second.url, 1000 + batch * 20 + index, index % 2 === 0 ? 'sk-a' : 'sk-b', index % 3 === 0, () => false)));
      expect(results.every((outcome) => outcome.state === 'done' && (outcome.status === 200 || outcome.status === 402))).toBe(true);
      served += results.filter((outcome) => outcome.state === 'done' && outcome.status === 200).length;
      allRefused = results.every((outcome) => outcome.state === 'done' && outcome.status === 402);
      batch++;
    }
    expect(allRefused).toBe(true);
    expect(served).toBeGreaterThan(20);
    const billed = await billSettled(upstream, 100);
    expect(billed).toBeLessThanOrEqual(limitMicros);
    const final = await departmentSpend(second.url);
    expect(final.reserved_micros).toBe(0);
    expect(final.spent_micros).toBeGreaterThanOrEqual(billed);
    expect(final.spent_micros).toBeLessThanOrEqual(limitMicros);
    // Refused only when nothing useful was affordable: less than one request's worst case (prompt + 50 tokens) was left.
    expect(limitMicros - final.spent_micros).toBeLessThan(2_000);
    expect((await second.stop('SIGTERM')).code).toBe(0);
  });
});

interface CliEntry { seq: number; kind: string; request_id?: string; decision?: { outcome?: string } }

/** Verify the ledger and list all its entries through the CLI, checking what holds after any crash. */
async function verifiedEntries(database: string): Promise<CliEntry[]> {
  const verify = await runCovenant(['audit', 'verify', '--data', database]);
  expect(verify.code, `audit verify: ${verify.stdout}${verify.stderr}`).toBe(0);
  const size = Number(/ok: (\d+) entries/.exec(verify.stdout)?.[1]);
  const listed = await runCovenant(['audit', 'entries', '--data', database, '--from', '0', '--limit', '100000', '--json']);
  expect(listed.code, listed.stderr).toBe(0);
  const entries = JSON.parse(listed.stdout) as CliEntry[];
  expect(entries.length).toBe(size);
  // Sequence numbers have no gap.
  expect(entries.map((entry) => entry.seq)).toEqual(entries.map((_, index) => index));
  return entries;
}

function expectLogged(entries: CliEntry[], answered: { requestId: string | null; status: number }[]): void {
  const inference = new Map(entries.filter((entry) => entry.kind === 'inference').map((entry) => [entry.request_id, entry]));
  const missing = answered.filter((outcome) => outcome.requestId === null || !inference.has(outcome.requestId));
  expect(missing, 'answered requests without an inference entry').toEqual([]);
  for (const outcome of answered) {
    expect(inference.get(outcome.requestId!)!.decision?.outcome).toBe(outcome.status === 200 ? 'allowed' : 'refused');
  }
}

describe('evidence ledger after kill -9 mid-traffic', () => {
  it('keeps an entry for every answered request, verifies with no sequence gap, and appends after restart', async () => {
    upstream = await startFakeOpenAI({ prices: { [version]: price }, outputTokens: 40, behaviour: { latencyMs: 300, tokenDelayMs: 30 } });
    const setup = setUp(upstream.url);
    const first = await startServe({ config: setup.config, environment, cwd: directory });
    const { outcomes, exit } = await trafficThenKill(first);
    expect(exit.signal).toBe('SIGKILL');
    const answered = outcomes.flatMap((outcome) => (outcome.state === 'done' && outcome.finishedBeforeKill ? [outcome] : []));
    expect(answered.length).toBeGreaterThanOrEqual(30);
    expect(answered.some((outcome) => outcome.status === 402)).toBe(true);
    expect(answered.filter((outcome) => outcome.stream).length).toBeGreaterThanOrEqual(8);
    expect(outcomes.filter((outcome) => outcome.state === 'cut').length).toBeGreaterThanOrEqual(10);

    // Straight after the kill, before anything reopens the database.
    const afterKill = await verifiedEntries(setup.database);
    expectLogged(afterKill, answered);

    const second = await startServe({ config: setup.config, environment, cwd: directory });
    upstream.setBehaviour({ latencyMs: 2 });
    const later = await Promise.all(Array.from({ length: 10 }, (_, index) =>
      chat(second.url, 2000 + index, index === 9 ? 'sk-broke' : 'sk-a', index % 2 === 0, () => false)));
    const laterAnswered = later.flatMap((outcome) => (outcome.state === 'done' ? [outcome] : []));
    expect(laterAnswered.map((outcome) => outcome.status).sort()).toEqual([...Array(9).fill(200), 402]);
    // While the restarted gateway runs, and again after it stopped.
    const running = await verifiedEntries(setup.database);
    expect(running.length).toBeGreaterThanOrEqual(afterKill.length + 10);
    expectLogged(running, [...answered, ...laterAnswered]);
    expect((await second.stop('SIGTERM')).code).toBe(0);
    const stopped = await verifiedEntries(setup.database);
    expectLogged(stopped, [...answered, ...laterAnswered]);
  });
});
