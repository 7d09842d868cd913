// Hard budgets through the whole gateway: the fake provider's own bill never exceeds any budget, however concurrent,
// streamed or abandoned the traffic; users near a limit get shorter answers, then a 402 naming the budget.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from './fakes/openai.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { zoneJustPastMidnight } from './helpers/time-zones.js';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../bin/covenant', import.meta.url));
const price = { input_per_mtok: 10, output_per_mtok: 30 };
const version = 'gpt-4o-mini-2024-07-18';
const adminKey = 'sk-budget-admin';

let upstream: FakeOpenAI | undefined;
let gateway: TestGateway | undefined;
afterEach(async () => {
  await gateway?.stop();
  await upstream?.close();
  gateway = undefined;
  upstream = undefined;
});

function config(url: string, budgets: { org: string; department: string; users: string; keys: string }, extra = ''): string {
  return `
store: sqlite:{{DB}}
admin_keys: [ { name: ops, key_env: ADMIN_KEY } ]
providers: [ { name: openai, type: openai, base_url: ${url} } ]
models: [ { alias: fast, provider: openai, version: ${version}, price: { input_per_mtok: ${price.input_per_mtok}, output_per_mtok: ${price.output_per_mtok} } } ]
org:
  name: acme
  timezone: ${zoneJustPastMidnight()}
  budgets: ${budgets.org}
  departments:
    - name: claims
      budgets: ${budgets.department}
      user_budgets: ${budgets.users}
${extra}
      keys:
        - { name: bot-a, key_env: KEY_A, budgets: ${budgets.keys} }
        - { name: bot-b, key_env: KEY_B }
        - { name: bot-c, key_env: KEY_C }
`;
}
const environment = { ADMIN_KEY: adminKey, KEY_A: 'sk-a', KEY_B: 'sk-b', KEY_C: 'sk-c' };

async function spend(scope?: string) {
  const url = `${gateway!.url}/admin/spend${scope ? `?scope=${encodeURIComponent(scope)}` : ''}`;
  return (await (await fetch(url, { headers: { authorization: `Bearer ${adminKey}` } })).json()) as {
    scopes: { scope: string; key?: string; budgets: { unit: string; period: string; limit_micros?: number; spent_micros?: number; reserved_micros?: number; remaining_micros?: number; limit?: number | string; spent?: number | string }[] }[];
  };
}

async function chat(key: string, body: Record<string, unknown>, user?: string) {
  return fetch(`${gateway!.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...(user ? { 'x-covenant-user': user } : {}) },
    body: JSON.stringify(body),
  });
}

describe('budgets under concurrency', () => {
  it('never lets the provider bill more than any budget: hundreds of concurrent requests, streamed and not, many keys and users', async () => {
    upstream = await startFakeOpenAI({ prices: { [version]: price }, outputTokens: 40, behaviour: { latencyMs: 5, tokenDelayMs: 1 } });
    // Limits in dollars: org $0.40, department $0.30 a day, each user $0.05 a day, key A $0.08 a day, 4000 tokens a day for the department.
    gateway = await startTestGateway(config(upstream.url, {
      org: '[ { usd: 0.40, period: month } ]',
      department: '[ { usd: 0.30, period: day }, { tokens: 20000, period: day } ]',
      users: '[ { usd: 0.05, period: day } ]',
      keys: '[ { usd: 0.08, period: day } ]',
    }), environment);
    const keys = ['sk-a', 'sk-b', 'sk-c'];
    const requests = Array.from({ length: 360 }, (_, index) => {
      const body: Record<string, unknown> = { model: 'fast', messages: [{ role: 'user', content: `question number ${index} about claims` }] };
      if (index % 3 === 0) body.max_tokens = 40;
      if (index % 2 === 0) body.stream = true;
      return { key: keys[index % 3]!, user: `user-${index % 12}`, body };
    });
    const outcomes = await Promise.all(requests.map(async ({ key, user, body }) => {
      const response = await chat(key, body, user);
      const text = await response.text();
      return { status: response.status, text, maxTokens: response.headers.get('x-covenant-max-tokens') };
    }));
    const statuses = outcomes.map((outcome) => outcome.status);
    expect(statuses.every((status) => status === 200 || status === 402)).toBe(true);
    // The test is only meaningful if budgets actually bound: some were refused, some were shortened.
    expect(statuses.filter((status) => status === 402).length).toBeGreaterThan(20);
    expect(statuses.filter((status) => status === 200).length).toBeGreaterThan(20);
    expect(outcomes.some((outcome) => outcome.status === 200 && outcome.maxTokens !== null && Number(outcome.maxTokens) < 40)).toBe(true);

    const bill = upstream.bill;
    expect(bill.costMicros).toBeLessThanOrEqual(300_000); // department's day
    expect(bill.inputTokens + bill.outputTokens).toBeLessThanOrEqual(20_000);
    // The gateway metered exactly what the provider billed, so per-scope metered spend is per-scope billed spend.
    const report = await spend();
    const department = report.scopes.find((scope) => scope.scope === 'department:claims')!;
    expect(department.budgets[0]!.spent_micros).toBe(bill.costMicros);
    expect(department.budgets[0]!.reserved_micros).toBe(0);
    for (const scope of report.scopes) {
      for (const budget of scope.budgets) {
        const limit = budget.limit_micros ?? Number(budget.limit);
        const spent = budget.spent_micros ?? Number(budget.spent);
        expect(spent, `${scope.scope} ${budget.unit}/${budget.period}`).toBeLessThanOrEqual(limit);
      }
    }
    expect(report.scopes.filter((scope) => scope.scope.startsWith('user:claims/'))).toHaveLength(12);
    const keyA = report.scopes.find((scope) => scope.key === 'claims/bot-a')!;
    expect(keyA.budgets[0]!.spent_micros).toBeLessThanOrEqual(80_000);
  });
});

describe('near a limit', () => {
  it('lowers max_tokens to what the budget affords, then refuses with a 402 naming scope, period, limit and spend', async () => {
    upstream = await startFakeOpenAI({ prices: { [version]: price }, outputTokens: 2000 });
    // $0.02 a day: a 30-token prompt costs ~$0.0003, leaving room for ~650 output tokens, not 4096.
    gateway = await startTestGateway(config(upstream.url, { org: '[]', department: '[ { usd: 0.02, period: day } ]', users: '[]', keys: '[]' }), environment);
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'sk-b', maxRetries: 0 });
    const first = await client.chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'write a long essay' }] }).withResponse();
    const lowered = Number(first.response.headers.get('x-covenant-max-tokens'));
    expect(lowered).toBeGreaterThan(16);
    expect(lowered).toBeLessThan(4096);
    expect(first.data.choices[0]!.finish_reason).toBe('length');
    expect(first.data.usage!.completion_tokens).toBe(lowered);
    expect(upstream.requests.at(-1)!.body.max_tokens).toBe(lowered);
    // Spend what is left, then the next request is refused with the budget named.
    let refusal: OpenAI.APIError | undefined;
    for (let attempt = 0; attempt < 20 && !refusal; attempt++) {
      try {
        await client.chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'more please' }] });
      } catch (error) {
        refusal = error as OpenAI.APIError;
      }
    }
    expect(refusal?.status).toBe(402);
    const body = refusal!.error as { type: string; code: string; message: string };
    expect(body.type).toBe('budget_exceeded');
    expect(body.message).toMatch(/department:claims \(usd per day\): limit \$0\.020000, spent \$0\.0\d{5}/);
    expect(upstream.bill.costMicros).toBeLessThanOrEqual(20_000);
    const report = await spend('department:claims');
    expect(report.scopes).toHaveLength(1);
    expect(report.scopes[0]!.budgets[0]!.spent_micros).toBe(upstream.bill.costMicros);
  });

  it('names a key budget by department and key name when it refuses', async () => {
    upstream = await startFakeOpenAI({ prices: { [version]: price } });
    gateway = await startTestGateway(config(upstream.url, { org: '[]', department: '[]', users: '[]', keys: '[ { usd: 0.0001, period: day } ]' }), environment);
    const response = await chat('sk-a', { model: 'fast', messages: [{ role: 'user', content: 'too expensive' }] });
    expect(response.status).toBe(402);
    expect((await response.json()).error.message).toMatch(/^Budget exceeded for key:claims\/bot-a \(usd per day\): limit \$0\.000100/);
    expect(upstream.bill.requests).toBe(0);
  });

  it('meters a stream the client abandons, at what the provider billed', async () => {
    upstream = await startFakeOpenAI({ prices: { [version]: price }, outputTokens: 50, behaviour: { tokenDelayMs: 10 } });
    gateway = await startTestGateway(config(upstream.url, { org: '[]', department: '[ { usd: 5, period: day } ]', users: '[]', keys: '[]' }), environment);
    const response = await chat('sk-b', { model: 'fast', stream: true, max_tokens: 50, messages: [{ role: 'user', content: 'stream and leave' }] });
    const reader = response.body!.getReader();
    await reader.read();
    await reader.cancel();
    await expect.poll(async () => (await spend('department:claims')).scopes[0]!.budgets[0]!.spent_micros, { timeout: 5000 }).toBe(upstream.bill.costMicros);
    expect(upstream.bill.costMicros).toBeGreaterThan(0);
    expect((await spend('department:claims')).scopes[0]!.budgets[0]!.reserved_micros).toBe(0);
  });
});

describe('alerts, reload and the CLI', () => {
  let receiver: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => {
    if (!receiver) return resolve();
    receiver.close(() => resolve());
    receiver.closeAllConnections();
  }));

  it('posts a webhook once per threshold, lists alerts, applies a reloaded budget without losing spend, and prints spend', async () => {
    const received: { body: Record<string, unknown>; at: number }[] = [];
    receiver = createServer((request, response) => {
      let text = '';
      request.on('data', (chunk) => { text += chunk; });
      request.on('end', () => {
        received.push({ body: JSON.parse(text), at: Date.now() });
        response.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver!.listen(0, '127.0.0.1', resolve));
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    upstream = await startFakeOpenAI({ prices: { [version]: price }, outputTokens: 100 });
    const alerts = `      alerts: { thresholds: [0.5, 0.8], webhook: ${hook} }`;
    const text = config(upstream.url, { org: '[]', department: '[ { usd: 0.02, period: day } ]', users: '[]', keys: '[]' }, alerts);
    gateway = await startTestGateway(text, environment);
    const file = join(gateway.directory, 'covenant.yaml');
    // Spend past 50% and 80% of $0.02.
    let sent = 0;
    while ((await spend('department:claims')).scopes[0]!.budgets[0]!.spent_micros! < 17_000 && sent < 30) {
      await chat('sk-b', { model: 'fast', max_tokens: 100, messages: [{ role: 'user', content: 'spend' }] });
      sent++;
    }
    await expect.poll(() => received.length).toBe(2);
    expect(received.map((entry) => entry.body.threshold)).toEqual([0.5, 0.8]);
    expect(received[0]!.body).toMatchObject({ scope: 'department:claims' });
    const listed = await (await fetch(`${gateway.url}/admin/alerts`, { headers: { authorization: `Bearer ${adminKey}` } })).json();
    expect(listed.data).toHaveLength(2);
    // More spend does not repeat a threshold (checked at the end, once every alert raised has been delivered).
    expect((await chat('sk-b', { model: 'fast', max_tokens: 20, messages: [{ role: 'user', content: 'spend' }] })).status).toBe(200);

    // Raise the limit in the config file and reload: spend is kept, the new limit applies at once.
    const before = (await spend('department:claims')).scopes[0]!.budgets[0]!;
    writeFileSync(file, text.replace('usd: 0.02, period: day', 'usd: 1, period: day').replaceAll('{{DB}}', join(gateway.directory, 'covenant.db')));
    const reloaded = await fetch(`${gateway.url}/admin/reload`, { method: 'POST', headers: { authorization: `Bearer ${adminKey}` } });
    expect(reloaded.status).toBe(200);
    const after = (await spend('department:claims')).scopes[0]!.budgets[0]!;
    expect(after.spent_micros).toBe(before.spent_micros);
    expect(after.limit_micros).toBe(1_000_000);

    // The CLI runs in its own process (a synchronous spawn would block this process's gateway).
    const env = { ...process.env, COVENANT_ADMIN_KEY: adminKey };
    const cli = await run(process.execPath, [bin, 'spend', '--url', gateway.url, '--json', '--scope', 'department:claims'], { env });
    expect(JSON.parse(cli.stdout).scopes[0].budgets[0].spent_micros).toBe(after.spent_micros);
    const table = await run(process.execPath, [bin, 'spend', '--url', gateway.url], { env });
    expect(table.stdout).toContain('department:claims');
    // Closing waits for every alert raised to be recorded and delivered: none came after the first two.
    await gateway.close();
    expect(received.map((entry) => entry.body.threshold)).toEqual([0.5, 0.8]);
  });

  it('raises a burn-rate alert in Slack format with its projected time, on the ledger, in /admin/alerts and /admin/spend', async () => {
    const received: { body: Record<string, unknown>; status: number }[] = [];
    receiver = createServer((request, response) => {
      let text = '';
      request.on('data', (chunk) => { text += chunk; });
      request.on('end', () => {
        // The receiver fails the first attempt: the alert is retried and listed as delivered on the second.
        const status = received.length === 0 ? 502 : 200;
        received.push({ body: JSON.parse(text), status });
        response.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => receiver!.listen(0, '127.0.0.1', resolve));
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    upstream = await startFakeOpenAI({ prices: { [version]: price }, outputTokens: 100 });
    // $1 a day: a few requests in a minute spend at a rate that runs it out within the hour, long before the day ends.
    const alerts = `      alerts: { thresholds: [0.99], webhook: ${hook}, format: slack, burn_rate: { window: 1m, jump: 5 } }`;
    gateway = await startTestGateway(config(upstream.url, { org: '[]', department: '[ { usd: 1, period: day } ]', users: '[]', keys: '[]' }, alerts), environment);
    for (let index = 0; index < 3; index += 1) {
      expect((await chat('sk-b', { model: 'fast', max_tokens: 100, messages: [{ role: 'user', content: 'spend' }] })).status).toBe(200);
    }
    await expect.poll(() => received.filter((entry) => entry.status === 200).length, { timeout: 5000 }).toBe(1);
    expect(received[1]!.body.text).toMatch(/^Budget department:claims \(usd per day\) runs out at \d{4}-\d\d-\d\dT/);
    expect(received[1]!.body.blocks).toHaveLength(1);
    const listed = (await (await fetch(`${gateway.url}/admin/alerts`, { headers: { authorization: `Bearer ${adminKey}` } })).json()).data;
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ kind: 'projected_exhaustion', scope: 'department:claims', status: 'delivered', attempts: 2, delivered: true });
    const projectedAt = Date.parse(listed[0].projected_exhaustion_at);
    expect(projectedAt).toBeGreaterThan(Date.now());
    expect(projectedAt).toBeLessThan(Date.parse(listed[0].period_end));
    const line = (await spend('department:claims')).scopes[0]!.budgets[0] as Record<string, unknown>;
    expect(Date.parse(line.projected_exhaustion_at as string)).toBeGreaterThan(Date.now() - 1000);
    const ledger = (await (await fetch(`${gateway.url}/admin/audit/entries?limit=1000`, { headers: { authorization: `Bearer ${adminKey}` } })).json()).data as Record<string, unknown>[];
    expect(ledger.find((entry) => entry.kind === 'alert.fired')).toMatchObject({
      alert: 'projected_exhaustion', scope: 'department:claims', projected_exhaustion_at: Date.parse(listed[0].projected_exhaustion_at),
    });
  });
});
