// Guards through the whole gateway with the official openai client: rate limits, request caps, staging keys on the
// mock, and what a client leaving a stream costs; each one tripped, and normal traffic shown untouched.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { ConfigError, parseConfigText } from '../src/config/load.js';
import { resolveConfig } from '../src/config/resolve.js';
import { buildStages } from '../src/gateway/stages/index.js';
import { createMemoryRateLimitStore } from '../src/stores/memory/rate-limit-store.js';
import type { BudgetGuard } from '../src/budgets/guard.js';
import { startFakeOpenAI, type FakeOpenAI } from './fakes/openai.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const price = { input_per_mtok: 10, output_per_mtok: 30 };
const version = 'gpt-4o-mini-2024-07-18';
const adminKey = 'sk-guards-admin';
const environment = { ADMIN_KEY: adminKey, KEY_A: 'sk-a', KEY_B: 'sk-b', KEY_C: 'sk-c', KEY_CI: 'sk-ci' };

let upstream: FakeOpenAI | undefined;
let gateway: TestGateway | undefined;
afterEach(async () => {
  await gateway?.stop();
  await upstream?.close();
  gateway = undefined;
  upstream = undefined;
});

/** A config with one department; `department` and the keys' lines add the guards under test. */
function config(url: string, options: { top?: string; model?: string; department?: string; keys: string }): string {
  return `
store: sqlite:{{DB}}
${options.top ?? ''}
admin_keys: [ { name: ops, key_env: ADMIN_KEY } ]
providers: [ { name: openai, type: openai, base_url: ${url} } ]
models: [ { alias: fast, provider: openai, version: ${version}, price: { input_per_mtok: ${price.input_per_mtok}, output_per_mtok: ${price.output_per_mtok} }${options.model ?? ''} } ]
org:
  name: acme
  departments:
    - name: claims
${options.department ?? ''}
      keys:
${options.keys}
`;
}

const client = (key: string) => new OpenAI({ apiKey: key, baseURL: `${gateway!.url}/v1`, maxRetries: 0 });
const ask = (key: string, extra: Record<string, unknown> = {}, user?: string) => client(key).chat.completions.create(
  { model: 'fast', messages: [{ role: 'user', content: 'Is this claim covered?' }], ...extra } as OpenAI.ChatCompletionCreateParamsNonStreaming,
  user ? { headers: { 'x-covenant-user': user } } : undefined,
);
/** The error a call ends with (an OpenAI.APIError for HTTP errors), or undefined when it succeeded. */
const failure = (call: Promise<unknown>) => call.then(() => undefined, (error: unknown) => error as InstanceType<typeof OpenAI.APIError>);

async function entries(): Promise<Record<string, any>[]> {
  const response = await fetch(`${gateway!.url}/admin/audit/entries?limit=1000`, { headers: { authorization: `Bearer ${adminKey}` } });
  return ((await response.json()) as { data: Record<string, any>[] }).data;
}

async function departmentSpend() {
  const response = await fetch(`${gateway!.url}/admin/spend?scope=department:claims`, { headers: { authorization: `Bearer ${adminKey}` } });
  const body = (await response.json()) as { scopes: { budgets: { spent_micros: number; reserved_micros: number }[] }[] };
  return body.scopes[0]!.budgets[0]!;
}

describe('rate limits', () => {
  it('refuses the request past a key\'s rpm with 429, Retry-After and the limit named; other keys are untouched', async () => {
    upstream = await startFakeOpenAI({ prices: { [version]: price } });
    gateway = await startTestGateway(config(upstream.url, { keys: `
        - { name: bot-a, key_env: KEY_A, rate_limit: { rpm: 3 } }
        - { name: bot-b, key_env: KEY_B }` }), environment);
    for (let index = 0; index < 3; index++) await ask('sk-a');
    const refused = await failure(ask('sk-a'));
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    expect(refused!.status).toBe(429);
    expect(refused!.code).toBe('rate_limit_exceeded');
    expect(refused!.message).toContain('key "claims/bot-a"');
    expect(refused!.message).toContain('rpm 3');
    const retryAfter = Number(refused!.headers?.get('retry-after'));
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);
    expect(upstream.bill.requests).toBe(3);
    // A key without a limit, in the same department, is not slowed or refused.
    for (let index = 0; index < 10; index++) expect((await ask('sk-b')).choices[0]!.message.content).toBeTruthy();
    const refusal = (await entries()).find((entry) => entry.kind === 'inference' && entry.decision.outcome === 'refused');
    expect(refusal?.decision).toMatchObject({ reason: 'rate_limit_exceeded', policy: 'rate_limit' });
  });

  it('applies a reloaded rate limit at once, keeping what was counted', async () => {
    upstream = await startFakeOpenAI({ prices: { [version]: price } });
    const text = (rpm: number) => config(upstream!.url, { keys: `
        - { name: bot-a, key_env: KEY_A, rate_limit: { rpm: ${rpm} } }` });
    gateway = await startTestGateway(text(2), environment);
    await ask('sk-a');
    await ask('sk-a');
    expect((await failure(ask('sk-a')))!.status).toBe(429);
    writeFileSync(join(gateway.directory, 'covenant.yaml'), text(3).replaceAll('{{DB}}', join(gateway.directory, 'covenant.db')));
    const reloaded = await fetch(`${gateway.url}/admin/reload`, { method: 'POST', headers: { authorization: `Bearer ${adminKey}` } });
    expect(reloaded.status).toBe(200);
    expect(await failure(ask('sk-a'))).toBeUndefined();
    expect((await failure(ask('sk-a')))!.message).toContain('rpm 3');
  });

  it('counts the worst case against tpm at admission and corrects it to actual usage at the end', async () => {
    upstream = await startFakeOpenAI({ prices: { [version]: price }, outputTokens: 10, behaviour: { latencyMs: 300 } });
    // Each request reserves its prompt bound plus max_tokens 400 (about 450 tokens) and uses about 25.
    gateway = await startTestGateway(config(upstream.url, { keys: `
        - { name: bot-a, key_env: KEY_A, rate_limit: { tpm: 1000 } }` }), environment);
    // Reserved together, three worst cases do not fit: two are admitted.
    const together = await Promise.all([0, 1, 2].map(() => failure(ask('sk-a', { max_tokens: 400 }))));
    expect(together.filter((error) => error === undefined)).toHaveLength(2);
    const refused = together.find((error) => error !== undefined)!;
    expect(refused.status).toBe(429);
    expect(refused.message).toContain('tpm 1000');
    // Settled to what they used, they leave room: one after another, many more fit in the same minute.
    for (let index = 0; index < 8; index++) expect(await failure(ask('sk-a', { max_tokens: 400 }))).toBeUndefined();
    // A request that could use more than the tpm on its own is refused outright.
    const tooLarge = await failure(ask('sk-a', { max_tokens: 2000 }));
    expect(tooLarge!.status).toBe(429);
    expect(tooLarge!.message).toContain('more than its tpm of 1000');
  });

  it('limits requests in flight, and frees the slot when a request ends', async () => {
    upstream = await startFakeOpenAI({ prices: { [version]: price }, behaviour: { latencyMs: 400 } });
    gateway = await startTestGateway(config(upstream.url, { department: '      rate_limit: { concurrent: 2 }', keys: `
        - { name: bot-a, key_env: KEY_A }` }), environment);
    const results = await Promise.all([0, 1, 2, 3].map(() => failure(ask('sk-a'))));
    expect(results.filter((error) => error === undefined)).toHaveLength(2);
    for (const error of results.filter((each) => each !== undefined)) {
      expect(error!.status).toBe(429);
      expect(error!.message).toContain('department "claims"');
      expect(error!.message).toContain('concurrent 2');
      expect(error!.headers?.get('retry-after')).toBe('1');
    }
    expect(await failure(ask('sk-a'))).toBeUndefined();
  });

  it('limits each end user on their own (user_rate_limit), streams included', async () => {
    upstream = await startFakeOpenAI({ prices: { [version]: price } });
    gateway = await startTestGateway(config(upstream.url, { department: '      user_rate_limit: { rpm: 2 }', keys: `
        - { name: bot-a, key_env: KEY_A }` }), environment);
    await ask('sk-a', {}, 'alice');
    const stream = await client('sk-a').chat.completions.create({ model: 'fast', stream: true, messages: [{ role: 'user', content: 'hi' }], user: 'alice' });
    for await (const _chunk of stream) { /* read to the end */ }
    const refused = await failure(ask('sk-a', {}, 'alice'));
    expect(refused!.status).toBe(429);
    expect(refused!.message).toContain('end user "alice"');
    expect(await failure(ask('sk-a', {}, 'bob'))).toBeUndefined();
    // Requests without an end user are not under a per-user limit.
    for (let index = 0; index < 4; index++) expect(await failure(ask('sk-a'))).toBeUndefined();
  });
});

describe('caps on one request', () => {
  it('refuses a prompt over max_prompt_tokens (400 context_too_large with the count and the cap); shorter prompts pass', async () => {
    upstream = await startFakeOpenAI({ prices: { [version]: price } });
    gateway = await startTestGateway(config(upstream.url, { model: ', limits: { max_prompt_tokens: 60 }', keys: `
        - { name: bot-a, key_env: KEY_A }` }), environment);
    const long = 'word '.repeat(200);
    const refused = await failure(ask('sk-a', { messages: [{ role: 'user', content: long }] }));
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect(refused!.code).toBe('context_too_large');
    // Counted exactly with the model's tokenizer: 200 words and the message framing.
    expect(refused!.message).toMatch(/The prompt counts 20\d tokens, over the max_prompt_tokens cap of 60 set on model "fast"/);
    expect(upstream.bill.requests).toBe(0);
    // A prompt whose byte bound is over the cap but whose exact count is under it is not refused.
    const answer = await ask('sk-a', { messages: [{ role: 'user', content: 'word '.repeat(40) }] });
    expect(answer.choices[0]!.message.content).toBeTruthy();
    expect(upstream.bill.requests).toBe(1);
  });

  it('refuses a request whose worst case costs more than max_request_usd (400 request_too_expensive); cheaper ones pass', async () => {
    upstream = await startFakeOpenAI({ prices: { [version]: price } });
    gateway = await startTestGateway(config(upstream.url, { department: '      limits: { max_request_usd: 0.01 }', keys: `
        - { name: bot-a, key_env: KEY_A }` }), environment);
    // 1000 output tokens at $30 per million are $0.03 at most.
    const refused = await failure(ask('sk-a', { max_tokens: 1000 }));
    expect(refused!.status).toBe(400);
    expect(refused!.code).toBe('request_too_expensive');
    expect(refused!.message).toMatch(/could cost up to \$0\.030\d+ .* over the max_request_usd cap of \$0\.010000 set on department "claims"/);
    // Without max_tokens the model's whole output limit (4096 tokens) is the worst case: refused too.
    expect((await failure(ask('sk-a')))!.code).toBe('request_too_expensive');
    const answer = await ask('sk-a', { max_tokens: 100 });
    expect(answer.choices[0]!.message.content).toBeTruthy();
    expect(upstream.bill.requests).toBe(1);
  });
});

describe('staging keys', () => {
  const keys = `
        - { name: ci, key_env: KEY_CI, environment: staging, route: mock }
        - { name: bot-a, key_env: KEY_A }`;

  it('answers every request of a staging key from the mock, streams too, at cost 0, and says so in the ledger', async () => {
    upstream = await startFakeOpenAI({ prices: { [version]: price } });
    gateway = await startTestGateway(config(upstream.url, { department: '      budgets: [ { usd: 1, period: day } ]', keys }), environment);
    const raw = await client('sk-ci').chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'regression case 1' }] }).withResponse();
    expect(raw.data.object).toBe('chat.completion');
    expect(raw.data.choices[0]!.message.content).toBeTruthy();
    expect(raw.data.usage!.total_tokens).toBeGreaterThan(0);
    expect(raw.response.headers.get('x-covenant-cost-usd')).toBe('0.000000');
    const stream = await client('sk-ci').chat.completions.create({ model: 'fast', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'regression case 2' }] });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text.length).toBeGreaterThan(0);
    expect(usage?.completion_tokens).toBeGreaterThan(0);
    expect(upstream.requests).toHaveLength(0);
    expect((await departmentSpend()).spent_micros).toBe(0);
    const staged = (await entries()).filter((entry) => entry.kind === 'inference' && entry.key === 'ci');
    expect(staged).toHaveLength(2);
    for (const entry of staged) {
      expect(entry.provider).toBe('covenant-mock');
      expect(entry.decision.routed_to).toBe('mock');
      expect(entry.cost_usd_micros).toBe(0);
    }
    // A production key in the same config still reaches its provider.
    await ask('sk-a');
    expect(upstream.requests).toHaveLength(1);
    const production = (await entries()).find((entry) => entry.kind === 'inference' && entry.key === 'bot-a');
    expect(production?.provider).toBe('openai');
    expect(production?.decision.routed_to).toBeUndefined();
  });

  it('answers a staging key on the Anthropic Messages API from the mock too, streamed and not', async () => {
    upstream = await startFakeOpenAI({ prices: { [version]: price } });
    gateway = await startTestGateway(config(upstream.url, { keys }), environment);
    const anthropic = new Anthropic({ baseURL: gateway.url, apiKey: 'sk-ci', maxRetries: 0 });
    const message = await anthropic.messages.create({ model: 'fast', max_tokens: 100, messages: [{ role: 'user', content: 'regression case 3' }] });
    expect(message.type).toBe('message');
    expect(message.content[0]!.type).toBe('text');
    expect(message.usage.output_tokens).toBeGreaterThan(0);
    const streamed = await anthropic.messages.stream({ model: 'fast', max_tokens: 100, messages: [{ role: 'user', content: 'regression case 4' }] }).finalMessage();
    expect(streamed.content[0]!.type).toBe('text');
    expect(upstream.requests).toHaveLength(0);
  });

  it('refuses route: mock on a key that is not a staging key, at its line and column', () => {
    const text = config('http://127.0.0.1:1/v1', { keys: `
        - { name: ci, key_env: KEY_CI, route: mock }` });
    let error: unknown;
    try {
      parseConfigText(text, 'covenant.yaml');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(/^covenant\.yaml:\d+:\d+: org\.departments\[0\]\.keys\[0\]\.route: route: mock needs environment: staging/m);
  });
});

describe('client aborts', () => {
  const stream = (key: string) => fetch(`${gateway!.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'fast', stream: true, max_tokens: 200, messages: [{ role: 'user', content: 'a long answer, please' }] }),
  });
  const keys = `
        - { name: bot-a, key_env: KEY_A }`;

  it('cancel: stops the upstream when the client leaves and settles the stream at its reserved worst case', async () => {
    upstream = await startFakeOpenAI({ prices: { [version]: price }, outputTokens: 1000, behaviour: { tokenDelayMs: 20 } });
    gateway = await startTestGateway(config(upstream.url, { top: 'streams: { on_client_abort: cancel }', department: '      budgets: [ { usd: 5, period: day } ]', keys }), environment);
    const response = await stream('sk-a');
    const reader = response.body!.getReader();
    await reader.read();
    await reader.cancel();
    const entry = await expect.poll(async () => (await entries()).find((each) => each.kind === 'inference'), { timeout: 5000 }).toBeTruthy().then(async () => (await entries()).find((each) => each.kind === 'inference')!);
    expect(entry.decision).toMatchObject({ outcome: 'allowed', client_abort: 'cancel', settled: 'worst_case' });
    expect(entry.usage_estimated).toBe(true);
    expect(entry.error).toBeNull();
    // The whole stream would take 1000 x 20 ms: it was stopped long before (the bound leaves room for a busy machine).
    expect(entry.latency_ms).toBeLessThan(10_000);
    const spend = await departmentSpend();
    expect(spend.reserved_micros).toBe(0);
    expect(spend.spent_micros).toBe(entry.cost_usd_micros);
    // Never under the bill: the worst case is at least what the provider charged for the whole answer.
    expect(spend.spent_micros).toBeGreaterThanOrEqual(200 * 30);
    expect(spend.spent_micros).toBeGreaterThan(upstream.bill.costMicros);
  });

  it('drain (the default): reads the abandoned stream to its end and settles it to the bill', async () => {
    upstream = await startFakeOpenAI({ prices: { [version]: price }, outputTokens: 30, behaviour: { tokenDelayMs: 5 } });
    gateway = await startTestGateway(config(upstream.url, { department: '      budgets: [ { usd: 5, period: day } ]', keys }), environment);
    const response = await stream('sk-a');
    const reader = response.body!.getReader();
    await reader.read();
    await reader.cancel();
    await expect.poll(async () => (await departmentSpend()).spent_micros, { timeout: 5000 }).toBe(upstream.bill.costMicros);
    const entry = (await entries()).find((each) => each.kind === 'inference')!;
    expect(entry.decision.client_abort).toBeUndefined();
    expect(entry.usage_estimated).toBe(false);
  });
});

describe('the stage list', () => {
  it('leaves every guard out when the config sets none, and puts them between access and budget when it does', () => {
    const stagesOf = (text: string) => buildStages({
      config: resolveConfig(parseConfigText(text, 'covenant.yaml'), environment),
      current: () => { throw new Error('not called'); },
      guard: {} as BudgetGuard,
      rateLimits: createMemoryRateLimitStore(),
      maxRequestMs: () => 1000,
      ledger: undefined,
      onError: () => {},
    }).map((stage) => stage.name);
    expect(stagesOf(config('http://127.0.0.1:1/v1', { keys: '        - { name: bot-a, key_env: KEY_A }' }))).toEqual(['access', 'budget']);
    const guarded = config('http://127.0.0.1:1/v1', { department: '      limits: { max_prompt_tokens: 10 }', keys: `
        - { name: bot-a, key_env: KEY_A, rate_limit: { rpm: 1 } }
        - { name: ci, key_env: KEY_CI, environment: staging, route: mock }` });
    expect(stagesOf(guarded)).toEqual(['access', 'staging', 'limits', 'rate_limit', 'budget']);
  });
});

describe('covenant config check', () => {
  it('prints each department\'s guards and its keys\' on one line, and nothing more for a department without any', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'covenant-guards-check-'));
    try {
      const file = join(directory, 'covenant.yaml');
      writeFileSync(file, `
streams: { on_client_abort: cancel }
providers: [ { name: mock, type: mock } ]
models: [ { alias: fast, provider: mock, version: m1 } ]
org:
  name: acme
  departments:
    - name: claims
      rate_limit: { rpm: 600, tpm: 200000 }
      user_rate_limit: { rpm: 30 }
      limits: { max_prompt_tokens: 32000, max_request_usd: 0.5 }
      keys:
        - { name: bot, key_env: KEY_A, rate_limit: { concurrent: 4 } }
        - { name: ci, key_env: KEY_CI, environment: staging, route: mock }
    - name: plain
      keys: [ { name: other, key_env: KEY_B } ]
`);
      let stdout = '';
      process.exitCode = undefined;
      await main(['config', 'check', '--config', file], { stdout: (text) => void (stdout += text), stderr: () => {}, environment });
      expect(Number(process.exitCode ?? 0)).toBe(0);
      process.exitCode = undefined;
      expect(stdout).toContain('      guards: rate limit rpm 600 tpm 200000; per user rpm 30; limits max_prompt_tokens 32000 max_request_usd 0.500000; key bot: rate limit concurrent 4; key ci: staging, answered by the mock\n');
      expect(stdout).toMatch(/department plain: [^\n]*\n  admin keys/);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
