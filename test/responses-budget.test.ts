// Budgets hold on POST /v1/responses: what the providers bill stays within the budget, passed through to OpenAI or translated, JSON and streamed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from './fakes/openai.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const adminKey = 'sk-responses-budget-admin';
const price = { input_per_mtok: 10, output_per_mtok: 30 };
let openaiUpstream: FakeOpenAI;
let compatibleUpstream: FakeOpenAI;
let gateway: TestGateway;

beforeAll(async () => {
  openaiUpstream = await startFakeOpenAI({ apiKey: 'sk-up', outputTokens: 400, reasoningTokens: 3, prices: { 'gpt-4o-2024-08-06': price }, behaviour: { latencyMs: 5, tokenDelayMs: 1 } });
  compatibleUpstream = await startFakeOpenAI({ outputTokens: 400, prices: { 'llama-3.3-70b': price }, behaviour: { latencyMs: 5, tokenDelayMs: 1 } });
  gateway = await startTestGateway(`
store: sqlite:{{DB}}
admin_keys: [ { name: ops, key_env: ADMIN_KEY } ]
providers:
  - { name: openai, type: openai, api_key_env: UPSTREAM_KEY, base_url: ${openaiUpstream.url} }
  - { name: llama, type: openai-compatible, base_url: ${compatibleUpstream.url} }
models:
  - { alias: native, provider: openai, version: gpt-4o-2024-08-06, price: { input_per_mtok: 10, output_per_mtok: 30 } }
  - { alias: translated, provider: llama, version: llama-3.3-70b, price: { input_per_mtok: 10, output_per_mtok: 30 } }
org:
  name: acme
  departments:
    - name: claims
      budgets: [ { usd: 0.25, period: day } ]
      keys: [ { name: bot, key_env: USER_KEY } ]
`, { USER_KEY: 'sk-bot', ADMIN_KEY: adminKey, UPSTREAM_KEY: 'sk-up' });
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([openaiUpstream?.close(), compatibleUpstream?.close()]);
});

describe('budgets on /v1/responses', () => {
  it('never lets the providers bill more than the budget; refusals are 402 budget_exceeded in OpenAI\'s error shape', async () => {
    const outcomes = await Promise.all(Array.from({ length: 90 }, async (_, index) => {
      // Each asks for up to 400 tokens (about 12,000 micro-dollars): the budget affords about twenty in full.
      const body: Record<string, unknown> = { model: index % 2 === 0 ? 'native' : 'translated', input: `question number ${index} about a claim`, max_output_tokens: 400 };
      if (index % 4 < 2) body.stream = true;
      const response = await fetch(`${gateway.url}/v1/responses`, {
        method: 'POST', headers: { authorization: 'Bearer sk-bot', 'content-type': 'application/json' }, body: JSON.stringify(body),
      });
      return { status: response.status, text: await response.text(), maxTokens: response.headers.get('x-covenant-max-tokens') };
    }));
    const billed = openaiUpstream.bill.costMicros + compatibleUpstream.bill.costMicros;
    expect(openaiUpstream.bill.costMicros).toBeGreaterThan(0);
    expect(compatibleUpstream.bill.costMicros).toBeGreaterThan(0);
    expect(billed).toBeLessThanOrEqual(250_000);
    const statuses = outcomes.map((outcome) => outcome.status);
    // OpenAI refuses a limit below 16 (a 400 it does not bill); every other answer is served or refused by the budget.
    expect(statuses.every((status) => status === 200 || status === 402 || status === 400)).toBe(true);
    expect(statuses.filter((status) => status === 402).length).toBeGreaterThan(5);
    expect(statuses.filter((status) => status === 200).length).toBeGreaterThan(5);
    const refusal = JSON.parse(outcomes.find((outcome) => outcome.status === 402)!.text) as { error: Record<string, unknown> };
    expect(refusal.error).toMatchObject({ code: 'budget_exceeded' });
    expect(Object.keys(refusal.error).sort()).toEqual(['code', 'message', 'param', 'type']);
    // The budget lowered the output limit of some answers, and OpenAI got that limit as max_output_tokens.
    expect(outcomes.some((outcome) => outcome.status === 200 && outcome.maxTokens !== null && Number(outcome.maxTokens) < 400)).toBe(true);
    expect(openaiUpstream.requests.every((request) => typeof request.body.max_output_tokens === 'number')).toBe(true);

    const report = (await (await fetch(`${gateway.url}/admin/spend?scope=department:claims`, { headers: { authorization: `Bearer ${adminKey}` } })).json()) as {
      scopes: { budgets: { spent_micros: number; reserved_micros: number }[] }[];
    };
    // Metered exactly what was billed: usage read from OpenAI's Response objects and events, and from the chat usage.
    expect(report.scopes[0]!.budgets[0]!.spent_micros).toBe(billed);
    expect(report.scopes[0]!.budgets[0]!.reserved_micros).toBe(0);
  });
});
