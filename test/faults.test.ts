// Faults beyond the upstream's bytes (test/upstream-faults.test.ts has those): a usage that contradicts the stream,
// an upstream that stalls mid-stream, Redis and PostgreSQL going away and coming back mid-traffic, a full disk under
// SQLite. After each: every answer is 200 or a clear error, each answered request has its ledger entry, the spend is
// never under the provider's bill, no reservation is left, and the ledger verifies.
// Guards: credibleUsage (gateway/stream-usage.ts), the upstream timeout (providers/http.ts), the budget stage's
// fail-closed refusal (budget_store_unavailable) and the ledger's (evidence_unavailable), the guard's retry of a failed
// settle (budgets/guard.ts), the budget journal's retry of a failed line and /healthz's disk_full (stores/sqlite/).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, rmSync, writeSync, closeSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { counterKeyFor } from '../src/core/budget-math.js';
import { startApp, type App } from '../src/gateway/app.js';
import { journalPathOf, readJournal } from '../src/stores/sqlite/budget-journal.js';
import { createSqliteBudgetStore } from '../src/stores/sqlite/budget-store.js';
import { openDatabase } from '../src/stores/sqlite/database.js';
import { startFakeOpenAI, type FakeOpenAI } from './fakes/openai.js';
import { createTestSchema, postgresUrl, startTcpProxy, type TcpProxy, type TestSchema } from './helpers/services.js';

const version = 'gpt-4o-mini-2024-07-18';
const price = { input_per_mtok: 10, output_per_mtok: 30 };
const adminKey = 'sk-faults2-admin';
const environment = { ADMIN_KEY: adminKey, BOT_KEY: 'sk-faults2-bot' };

/** Everything a test started, stopped in reverse order whatever state it failed in. */
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await Promise.resolve().then(cleanup).catch(() => undefined);
  cleanups.length = 0;
});

function config(store: string, upstreamUrl: string, extra = ''): string {
  return `
store: ${store}
${extra}
admin_keys: [ { name: ops, key_env: ADMIN_KEY } ]
providers: [ { name: openai, type: openai, base_url: ${upstreamUrl} } ]
models: [ { alias: fast, provider: openai, version: ${version}, price: { input_per_mtok: ${price.input_per_mtok}, output_per_mtok: ${price.output_per_mtok} } } ]
org:
  name: acme
  departments:
    - name: claims
      budgets: [ { usd: 50, period: total } ]
      keys: [ { name: bot, key_env: BOT_KEY } ]
`;
}

async function start(text: string, directory?: string): Promise<App> {
  const folder = directory ?? mkdtempSync(join(tmpdir(), 'covenant-faults-'));
  if (!directory) cleanups.push(() => rmSync(folder, { recursive: true, force: true }));
  const file = join(folder, 'covenant.yaml');
  writeFileSync(file, text);
  const app = await startApp({ configFile: file, environment, host: '127.0.0.1', port: 0 });
  cleanups.push(() => app.close());
  return app;
}

interface Answer { status: number; code?: string; requestId: string | null; text: string }

async function chat(app: App, stream: boolean, content = 'claim 1', maxTokens = 30): Promise<Answer> {
  try {
    const response = await fetch(`${app.url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${environment.BOT_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'fast', stream, max_tokens: maxTokens, messages: [{ role: 'user', content }] }),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await response.text();
    let code: string | undefined;
    if (response.status !== 200) code = (JSON.parse(text) as { error: { code: string } }).error.code;
    return { status: response.status, code, requestId: response.headers.get('x-covenant-request-id'), text };
  } catch (error) {
    return { status: 0, requestId: null, text: (error as Error).message };
  }
}

const admin = async (app: App, path: string): Promise<any> => {
  const response = await fetch(`${app.url}${path}`, { headers: { authorization: `Bearer ${adminKey}` } });
  expect(response.status, path).toBe(200);
  return response.json();
};

async function spend(app: App): Promise<{ spent_micros: number; reserved_micros: number }> {
  return (await admin(app, '/admin/spend?scope=department:claims')).scopes[0].budgets[0];
}

/** Each answered request (a 200, or a refusal the gateway decided) has its inference entry; the log verifies. */
async function expectEvidence(app: App, answers: Answer[]): Promise<void> {
  const entries = (await admin(app, '/admin/audit/entries?kind=inference&limit=10000')).data as { request_id: string }[];
  const logged = new Set(entries.map((entry) => entry.request_id));
  const missing = answers.filter((answer) => answer.status === 200 && !answer.text.includes('"error"') && (!answer.requestId || !logged.has(answer.requestId)));
  expect(missing.map((answer) => answer.requestId), 'answered without a ledger entry').toEqual([]);
  expect((await admin(app, '/admin/audit/verify')).ok).toBe(true);
}

/** Wait until the fake provider has billed everything it is going to. */
async function billSettled(fake: FakeOpenAI, quietMs = 300): Promise<number> {
  let last = -1;
  while (fake.bill.costMicros !== last) {
    last = fake.bill.costMicros;
    await new Promise((resolve) => setTimeout(resolve, quietMs));
  }
  return last;
}

async function freePort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const chunk = (content: string) => `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: version, choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;

/**
 * An upstream that streams `tokens` one-token chunks, then either reports `reported` output tokens in its usage
 * (fewer than it sent) or stalls for ever. Its bill: the prompt tokens it reports plus every token it sent.
 */
async function lyingUpstream(): Promise<{ server: Server; url: string; bill: { costMicros: number }; mode: { stall: boolean; tokens: number; reported: number } }> {
  const bill = { costMicros: 0 };
  const mode = { stall: false, tokens: 20, reported: 2 };
  const promptTokens = 12;
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: version, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] })}\n\n`);
      const sent = mode.stall ? 3 : mode.tokens;
      for (let index = 0; index < sent; index++) response.write(chunk(` w${index}`));
      bill.costMicros += Math.ceil((promptTokens * price.input_per_mtok + sent * price.output_per_mtok));
      if (mode.stall) return; // never ends
      response.write(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: version, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`);
      response.write(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: version, choices: [], usage: { prompt_tokens: promptTokens, completion_tokens: mode.reported, total_tokens: promptTokens + mode.reported } })}\n\n`);
      response.end('data: [DONE]\n\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  cleanups.push(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, bill, mode };
}

describe('an upstream whose usage contradicts its stream', () => {
  it('is metered at the worst case, never at the lower reported figure', async () => {
    const upstream = await lyingUpstream();
    const app = await start(config('sqlite:{{DB}}', upstream.url).replace('{{DB}}', join(mkdtempSync(join(tmpdir(), 'covenant-faults-db-')), 'covenant.db')));
    const answers: Answer[] = [];
    for (let index = 0; index < 3; index++) answers.push(await chat(app, true, `claim ${index}`, 40));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
    for (const answer of answers) expect(answer.text).toContain('data: [DONE]');
    const total = await spend(app);
    // The provider billed 20 output tokens a request; its usage said 2.
    expect(total.spent_micros).toBeGreaterThanOrEqual(upstream.bill.costMicros);
    expect(total.reserved_micros).toBe(0);
    await expectEvidence(app, answers);
    // An honest usage is still taken as reported (no worst case where the figures agree).
    upstream.mode.reported = 20;
    const before = (await spend(app)).spent_micros;
    const billBefore = upstream.bill.costMicros;
    expect((await chat(app, true, 'honest', 40)).status).toBe(200);
    expect((await spend(app)).spent_micros - before).toBe(upstream.bill.costMicros - billBefore);
  });
});

describe('an upstream that stalls mid-stream', () => {
  it('ends the stream with the timeout error, records the call and settles it at the worst case', async () => {
    const upstream = await lyingUpstream();
    upstream.mode.stall = true;
    const folder = mkdtempSync(join(tmpdir(), 'covenant-faults-'));
    cleanups.push(() => rmSync(folder, { recursive: true, force: true }));
    const app = await start(config(`sqlite:${join(folder, 'covenant.db')}`, upstream.url, 'server: { upstream_timeout_ms: 1000 }'), folder);
    const started = Date.now();
    const answer = await chat(app, true, 'stall please', 40);
    expect(Date.now() - started).toBeLessThan(8000);
    expect(answer.status).toBe(200);
    expect(answer.text).toContain(' w2');
    expect(answer.text).not.toContain('data: [DONE]');
    expect(answer.text).toMatch(/"code":"upstream_/);
    const total = await spend(app);
    expect(total.reserved_micros).toBe(0);
    expect(total.spent_micros).toBeGreaterThanOrEqual(upstream.bill.costMicros);
    const entries = (await admin(app, '/admin/audit/entries?kind=inference&limit=100')).data as { request_id: string }[];
    expect(entries.map((entry) => entry.request_id)).toContain(answer.requestId);
    expect((await admin(app, '/admin/audit/verify')).ok).toBe(true);
  });
});

/** A private redis-server (nothing persisted), so killing it touches no other test. */
async function privateRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  cleanups.push(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  for (let attempt = 0; attempt < 100; attempt++) {
    const ready = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => { socket.destroy(); resolve(true); });
      socket.once('error', () => resolve(false));
    });
    if (ready) return child;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('redis-server did not start');
}

/** Requests in a loop (half streamed) until `stop()`; every answer kept. */
function traffic(app: App): { answers: Answer[]; stop(): Promise<void> } {
  const answers: Answer[] = [];
  let running = true;
  const workers = Array.from({ length: 4 }, async (_, worker) => {
    let index = 0;
    while (running) {
      answers.push(await chat(app, (worker + index) % 2 === 0, `claim ${worker}-${index}`, 20));
      index += 1;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  });
  return { answers, async stop() { running = false; await Promise.all(workers); } };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('distributed mode when Redis goes away and comes back mid-traffic', () => {
  it('refuses with 503 budget_store_unavailable while it is down, serves again after, and loses no spend', async () => {
    const upstream = await startFakeOpenAI({ prices: { [version]: price }, outputTokens: 12, behaviour: { latencyMs: 5, tokenDelayMs: 2 } });
    cleanups.push(() => upstream.close());
    const schema: TestSchema = createTestSchema();
    cleanups.push(() => schema.drop());
    const port = await freePort();
    let redis = await privateRedis(port);
    const app = await start(config(`${schema.url}?schema=${schema.schema}`, upstream.url, `cache: redis://127.0.0.1:${port}`));
    const load = traffic(app);
    await sleep(700);
    redis.kill('SIGKILL');
    await sleep(1200);
    const duringOutage = load.answers.length;
    redis = await privateRedis(port); // back, and empty: spend is rebuilt from PostgreSQL
    await sleep(2500);
    await load.stop();
    const answers = load.answers;
    const statuses = new Set(answers.map((answer) => `${answer.status}${answer.code ? ` ${answer.code}` : ''}`));
    // Only answers and the clear refusal; no hang, no other failure.
    for (const status of statuses) expect(['200', '503 budget_store_unavailable']).toContain(status);
    expect(answers.slice(0, duringOutage).some((answer) => answer.status === 503)).toBe(true);
    expect(answers.slice(-4).every((answer) => answer.status === 200)).toBe(true);
    const billed = await billSettled(upstream);
    await expect.poll(async () => (await spend(app)).reserved_micros, { timeout: 5000 }).toBe(0);
    expect((await spend(app)).spent_micros).toBeGreaterThanOrEqual(billed);
    await expectEvidence(app, answers);
  }, 60_000);
});

describe('PostgreSQL going away and coming back mid-traffic', () => {
  it('refuses with a clear 503 while it is cut off, serves again after, settles what the cut left reserved, and the ledger verifies', async () => {
    const upstream = await startFakeOpenAI({ prices: { [version]: price }, outputTokens: 12, behaviour: { latencyMs: 5, tokenDelayMs: 2 } });
    cleanups.push(() => upstream.close());
    const schema: TestSchema = createTestSchema();
    cleanups.push(() => schema.drop());
    const target = new URL(postgresUrl);
    const proxy: TcpProxy = await startTcpProxy(Number(target.port || 5432), target.hostname);
    cleanups.push(() => proxy.stop());
    cleanups.push(() => proxy.start().catch(() => undefined));
    const through = new URL(postgresUrl);
    through.host = `127.0.0.1:${proxy.port}`;
    const redisPort = await freePort();
    await privateRedis(redisPort);
    const app = await start(config(`${through.toString()}?schema=${schema.schema}`, upstream.url, `cache: redis://127.0.0.1:${redisPort}`));
    const load = traffic(app);
    await sleep(700);
    await proxy.stop();
    await sleep(1500);
    const duringOutage = load.answers.length;
    await proxy.start();
    await sleep(3000);
    await load.stop();
    const answers = load.answers;
    for (const answer of answers) {
      if (answer.status !== 200) {
        expect(answer.status, answer.text.slice(0, 300)).toBe(503);
        expect(answer.code).toMatch(/_unavailable$/);
      }
    }
    expect(answers.slice(0, duringOutage).some((answer) => answer.status === 503)).toBe(true);
    expect(answers.slice(-4).every((answer) => answer.status === 200)).toBe(true);
    const billed = await billSettled(upstream);
    // A request reserved in Redis whose settlement failed while PostgreSQL was cut is settled by the guard's retry
    // once PostgreSQL is back (BudgetGuard #retryLater), at what the provider billed: no reservation waits for a
    // restart or for the orphan sweep (which would count it at its worst case, minutes later).
    await expect.poll(async () => (await spend(app)).reserved_micros, { timeout: 10_000 }).toBe(0);
    const after = await spend(app);
    // Each call the provider billed is settled at its usage: spend is the bill, never under it (nor at a worst case).
    expect(after.spent_micros).toBe(billed);
    await expectEvidence(app, answers);
  }, 60_000);
});

/** A small tmpfs (root only); undefined when this machine cannot mount one. */
function smallDisk(): string | undefined {
  const folder = mkdtempSync(join(tmpdir(), 'covenant-disk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', folder], { stdio: 'ignore' });
    return folder;
  } catch {
    rmSync(folder, { recursive: true, force: true });
    return undefined;
  }
}

/** Write a file until the disk is full. */
function fill(path: string): void {
  const handle = openSync(path, 'w');
  const block = Buffer.alloc(1 << 20, 1);
  try {
    for (;;) writeSync(handle, block);
  } catch {
    // ENOSPC: full; now the last few KB too.
    const small = Buffer.alloc(4096, 1);
    try { for (;;) writeSync(handle, small); } catch { /* full */ }
  } finally {
    closeSync(handle);
  }
}

// With the disk full, a request whose ledger entry (or budget journal line) cannot be written is refused at once (503
// evidence_unavailable or budget_store_unavailable; a stream already begun ends with the error), /healthz says the
// disk is full, and the gateway serves again as soon as space returns. (An earlier reproduction blocked for minutes:
// its 20 KB run of one letter made the fake provider's JavaScript BPE tokenizer quadratic, not SQLite.)
const canMount = process.platform === 'linux' && process.getuid?.() === 0;

/** About 20 KB of varied words: stored in full (retention: full), each entry needs pages the disk no longer has. */
const bigPrompt = (label: string) => `${label} ${Array.from({ length: 3000 }, (_, word) => `word${(word * 7919) % 10007}`).join(' ')}`;

describe.skipIf(!canMount)('SQLite on a full disk', () => {
  it('fails closed with a clear 503 while the disk is full, and recovers when space returns', async (context) => {
    const folder = smallDisk();
    if (folder === undefined) return context.skip('this machine cannot mount a tmpfs');
    const cleanDisk = () => { try { execFileSync('umount', ['-l', folder]); } catch { /* not mounted */ } rmSync(folder, { recursive: true, force: true }); };
    cleanups.push(cleanDisk);
    const upstream = await startFakeOpenAI({ prices: { [version]: price }, outputTokens: 12, behaviour: { latencyMs: 5, tokenDelayMs: 1 } });
    cleanups.push(() => upstream.close());
    mkdirSync(join(folder, 'data'));
    const text = config(`sqlite:${join(folder, 'data', 'covenant.db')}`, upstream.url)
      .replace('keys: [ { name: bot', 'retention: { content: full }\n      keys: [ { name: bot');
    const app = await start(text, join(folder, 'data'));
    const answers: Answer[] = [];
    for (let index = 0; index < 6; index++) answers.push(await chat(app, index % 2 === 0, `before ${index}`));
    expect(answers.map((answer) => answer.status)).toEqual(Array(6).fill(200));
    expect(await (await fetch(`${app.url}/healthz`)).json()).toMatchObject({ status: 'ok', stores: { sqlite: 'reachable' } });
    fill(join(folder, 'filler'));
    const full: Answer[] = [];
    const refused = (answer: Answer) => answer.status === 503 || answer.text.includes('evidence_unavailable');
    // Until three requests in a row are refused (the WAL's free pages run out after a few), each answered at once.
    for (let index = 0; index < 60 && !full.slice(-3).every(refused) || full.length < 3; index++) {
      const started = Date.now();
      const answer = await chat(app, index % 2 === 0, bigPrompt(`full ${index}`));
      expect(Date.now() - started, `request ${index} with the disk full`).toBeLessThan(5000);
      full.push(answer);
    }
    for (const answer of full) {
      // A stream has begun before its entry is written: it ends with the error instead of [DONE].
      if (answer.status === 200 && answer.text.startsWith('data:')) expect(answer.text.includes('data: [DONE]') || answer.text.includes('evidence_unavailable'), answer.text.slice(-300)).toBe(true);
      else if (answer.status !== 200) {
        expect(answer.status, answer.text.slice(0, 300)).toBe(503);
        expect(answer.code).toMatch(/_unavailable$/);
      }
    }
    expect(full.slice(-3).every(refused), 'refused while the disk is full').toBe(true);
    const health = await fetch(`${app.url}/healthz`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: 'unavailable', stores: { sqlite: 'disk_full' } });
    expect(await (await fetch(`${app.url}/healthz`)).json(), 'still full').toMatchObject({ stores: { sqlite: 'disk_full' } });
    rmSync(join(folder, 'filler'));
    // Space is back: /healthz says so before any request comes (a balancer that stopped routing here sends none)...
    const healthAfter = await fetch(`${app.url}/healthz`);
    expect(healthAfter.status).toBe(200);
    expect(await healthAfter.json()).toMatchObject({ status: 'ok', stores: { sqlite: 'reachable' } });
    // ...the next request is served (no restart), and so is every one after it.
    const after: Answer[] = [await chat(app, false, bigPrompt('after'))];
    for (let index = 0; index < 6; index++) after.push(await chat(app, index % 2 === 0, bigPrompt(`after ${index}`)));
    expect(after.map((answer) => answer.status)).toEqual(Array(7).fill(200));
    expect(after.every((answer) => !answer.text.includes('"error"'))).toBe(true);
    expect(await (await fetch(`${app.url}/healthz`)).json()).toMatchObject({ status: 'ok', stores: { sqlite: 'reachable' } });
    const billed = await billSettled(upstream);
    expect((await spend(app)).reserved_micros).toBe(0);
    expect((await spend(app)).spent_micros).toBeGreaterThanOrEqual(billed);
    await expectEvidence(app, [...answers, ...full, ...after]);
  }, 60_000);

  it('refuses reservations while the budget journal cannot be written, and takes them again once space returns', async (context) => {
    const folder = smallDisk();
    if (folder === undefined) return context.skip('this machine cannot mount a tmpfs');
    cleanups.push(() => { try { execFileSync('umount', ['-l', folder]); } catch { /* not mounted */ } rmSync(folder, { recursive: true, force: true }); });
    const path = join(folder, 'covenant.db');
    const database = openDatabase(path);
    const failures: unknown[] = [];
    // No fold while the test runs: every change stays in the journal, which must grow into pages the disk lacks.
    const store = createSqliteBudgetStore(database, { foldIntervalMs: 3_600_000, onJournal: (failure) => failures.push(failure) });
    cleanups.push(() => { database.close(); });
    const key = counterKeyFor('department:claims', 'usd', 'total', 'total');
    let settled = 0;
    let next = 0;
    /** Reserve 1000, settle at 700: true when served, false when refused. */
    const request = async (): Promise<boolean> => {
      const id = `r${(next += 1)}`;
      try {
        await store.tryReserve({ id, createdAt: Date.now(), items: [{ counterKey: key, amount: 1000, limit: 1e12 }] });
      } catch {
        return false;
      }
      await store.settle(id, [700]);
      settled += 700;
      return true;
    };
    expect(await request()).toBe(true);
    // A reservation on a second budget, settled only while the journal cannot be written.
    const other = counterKeyFor('department:claims', 'tokens', 'total', 'total');
    await store.tryReserve({ id: 'other', createdAt: Date.now(), items: [{ counterKey: other, amount: 1000, limit: 1e12 }] });
    fill(join(folder, 'filler'));
    let served = 0;
    while (await request()) {
      served += 1;
      expect(served, 'the journal never ran out of space').toBeLessThan(100_000);
    }
    expect(failures.at(-1)).toBeInstanceOf(Error);
    // The refused reservation left nothing reserved; the settled spend is all there.
    expect((await store.read([key])).get(key)).toMatchObject({ spent: settled, reserved: 0 });
    expect(await request()).toBe(false);
    await store.settle('other', [300]);
    await new Promise((resolve) => setImmediate(resolve));
    rmSync(join(folder, 'filler'));
    expect(await request()).toBe(true);
    expect(failures.at(-1)).toBeUndefined();
    expect((await store.read([key])).get(key)).toMatchObject({ spent: settled, reserved: 0 });
    // What the journal holds once the turn ends is what a restart after a SIGKILL would see: every settled amount.
    await new Promise((resolve) => setImmediate(resolve));
    const journal = readJournal(journalPathOf(path));
    expect(journal?.counters.get(key)).toEqual({ spent: settled, reserved: 0 });
    // The settle whose line failed went with a later line, though its budget was not touched again.
    expect(journal?.counters.get(other)).toEqual({ spent: 300, reserved: 0 });
    await store.close();
  }, 60_000);
});
