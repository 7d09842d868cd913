// reasoning_effort through the gateway with the official openai SDK (chat and Responses) to Anthropic and Gemini: the thinking setting goes upstream, stays out of the answer, is metered, and bills stay within budgets.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAnthropic, type FakeAnthropic } from './fakes/anthropic.js';
import { startFakeGemini, type FakeGemini } from './fakes/gemini.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const adminKey = 'sk-reasoning-admin';
const budgetMicros = 600_000;
let anthropicUpstream: FakeAnthropic;
let geminiUpstream: FakeGemini;
let gateway: TestGateway;
let openai: OpenAI;

beforeAll(async () => {
  anthropicUpstream = await startFakeAnthropic({ apiKey: 'sk-up-anthropic' });
  geminiUpstream = await startFakeGemini({ apiKey: 'sk-up-gemini', prices: { 'gemini-2.5-flash': { input_per_mtok: 3, output_per_mtok: 15 } } });
  gateway = await startTestGateway(`
store: sqlite:{{DB}}
admin_keys: [ { name: ops, key_env: ADMIN_KEY } ]
providers:
  - { name: anthropic, type: anthropic, api_key_env: ANTHROPIC_KEY, base_url: ${anthropicUpstream.url} }
  - { name: gemini, type: gemini, api_key_env: GEMINI_KEY, base_url: ${geminiUpstream.url} }
models:
  - { alias: claude, provider: anthropic, version: claude-sonnet-4-20250514, max_output_tokens: 64000, price: { input_per_mtok: 3, output_per_mtok: 15 } }
  - { alias: gemini, provider: gemini, version: gemini-2.5-flash, max_output_tokens: 64000, price: { input_per_mtok: 3, output_per_mtok: 15 } }
org:
  name: acme
  departments:
    - name: lab
      keys: [ { name: tester, key_env: USER_KEY } ]
    - name: tight
      budgets: [ { usd: ${budgetMicros / 1_000_000}, period: day } ]
      keys: [ { name: capped, key_env: TIGHT_KEY } ]
`, { USER_KEY: 'sk-lab', TIGHT_KEY: 'sk-tight', ADMIN_KEY: adminKey, ANTHROPIC_KEY: 'sk-up-anthropic', GEMINI_KEY: 'sk-up-gemini' });
  openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'sk-lab', maxRetries: 0 });
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([anthropicUpstream?.close(), geminiUpstream?.close()]);
});

/** The thinking setting of the last request the alias's fake received. */
function lastThinking(alias: string): unknown {
  if (alias === 'claude') return (anthropicUpstream.requests.at(-1)!.body as { thinking?: unknown }).thinking;
  return (geminiUpstream.requests.at(-1)!.body as { generationConfig?: { thinkingConfig?: unknown } }).generationConfig?.thinkingConfig;
}

function expectedThinking(alias: string, budget: number): unknown {
  return alias === 'claude' ? { type: 'enabled', budget_tokens: budget } : { thinkingBudget: budget };
}

/** The fakes think "step1 step2 …": none of it may reach the answer's text. */
const thoughtWord = /\bstep\d+\b/;

describe.each(['claude', 'gemini'])('reasoning_effort to "%s"', (alias) => {
  it('chat completions (JSON): the thinking budget goes upstream, the answer excludes the thinking, usage counts it', async () => {
    const completion = await openai.chat.completions.create({
      model: alias, messages: [{ role: 'user', content: 'Why is the sky blue' }], reasoning_effort: 'low', max_completion_tokens: 3000,
    });
    expect(lastThinking(alias)).toEqual(expectedThinking(alias, 1024));
    const content = completion.choices[0]!.message.content ?? '';
    expect(content).toContain('sky');
    expect(content).not.toMatch(thoughtWord);
    expect(completion.usage?.completion_tokens_details?.reasoning_tokens).toBe(1024);
    expect(completion.usage!.completion_tokens).toBeGreaterThan(1024);
  });

  it('chat completions (stream): the same, with reasoning tokens on the usage chunk', async () => {
    const stream = await openai.chat.completions.create({
      model: alias, messages: [{ role: 'user', content: 'Why is the sky blue' }], reasoning_effort: 'minimal', max_completion_tokens: 3000,
      stream: true, stream_options: { include_usage: true },
    });
    let content = '';
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      content += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(lastThinking(alias)).toEqual(expectedThinking(alias, 1024));
    expect(content).toContain('sky');
    expect(content).not.toMatch(thoughtWord);
    expect(usage?.completion_tokens_details?.reasoning_tokens).toBe(1024);
  });

  it.each([false, true])('responses (stream: %s): reasoning.effort goes upstream as thinking, left out of output_text, counted in usage', async (streamed) => {
    const request = { model: alias, input: 'Why is the sky blue', reasoning: { effort: 'medium' as const }, max_output_tokens: 9000 };
    let response: OpenAI.Responses.Response;
    let outputText: string;
    if (streamed) {
      const stream = await openai.responses.create({ ...request, stream: true });
      let text = '';
      let completed: OpenAI.Responses.Response | undefined;
      for await (const event of stream) {
        if (event.type === 'response.output_text.delta') text += event.delta;
        if (event.type === 'response.completed') completed = event.response;
      }
      response = completed!;
      // The events' text deltas are the answer (the SDK adds output_text to non-streamed responses only).
      outputText = text;
    } else {
      response = await openai.responses.create(request);
      outputText = response.output_text;
    }
    expect(lastThinking(alias)).toEqual(expectedThinking(alias, 8192));
    expect(outputText).toContain('sky');
    expect(outputText).not.toMatch(thoughtWord);
    expect(response.usage?.output_tokens_details.reasoning_tokens).toBe(8192);
    expect(response.usage!.output_tokens).toBeGreaterThan(8192);
  });

  it('caps the budget below the output limit and says so in x-covenant-warnings', async () => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: 'Bearer sk-lab', 'content-type': 'application/json' },
      body: JSON.stringify({ model: alias, messages: [{ role: 'user', content: 'Why is the sky blue' }], reasoning_effort: 'high', max_tokens: 2000 }),
    });
    expect(response.status).toBe(200);
    await response.text();
    expect(lastThinking(alias)).toEqual(expectedThinking(alias, 1999));
    expect(response.headers.get('x-covenant-warnings') ?? '').toContain('1999');
  });
});

describe('reasoning_effort within a budget', () => {
  it('never lets Anthropic and Gemini bill more than the budget, thinking included, and meters exactly what they billed', async () => {
    const anthropicBefore = anthropicUpstream.bill.costMicros;
    const geminiBefore = geminiUpstream.bill.costMicros;
    const anthropicRequestsBefore = anthropicUpstream.requests.length;
    const geminiRequestsBefore = geminiUpstream.requests.length;
    const outcomes = await Promise.all(Array.from({ length: 24 }, async (_, index) => {
      const model = index % 2 === 0 ? 'claude' : 'gemini';
      const stream = index % 4 >= 2;
      const responses = index % 3 === 0;
      // Each asks for up to 20,000 output tokens (about 300,000 micro-dollars): the budget affords two in full.
      const body = responses
        ? { model, input: `question ${index} about the sky`, reasoning: { effort: 'high' }, max_output_tokens: 20_000, stream }
        : { model, messages: [{ role: 'user', content: `question ${index} about the sky` }], reasoning_effort: 'high', max_tokens: 20_000, stream };
      const response = await fetch(`${gateway.url}/v1/${responses ? 'responses' : 'chat/completions'}`, {
        method: 'POST', headers: { authorization: 'Bearer sk-tight', 'content-type': 'application/json' }, body: JSON.stringify(body),
      });
      return { status: response.status, text: await response.text() };
    }));
    const billed = anthropicUpstream.bill.costMicros - anthropicBefore + geminiUpstream.bill.costMicros - geminiBefore;
    expect(billed).toBeGreaterThan(0);
    expect(billed).toBeLessThanOrEqual(budgetMicros);
    // The answers served thought at length: the thinking was asked of both providers and billed within the budget.
    const thinkingAsked = [
      ...anthropicUpstream.requests.slice(anthropicRequestsBefore).map((request) => (request.body as { thinking?: { budget_tokens: number } }).thinking?.budget_tokens ?? 0),
      ...geminiUpstream.requests.slice(geminiRequestsBefore).map((request) => (request.body as { generationConfig?: { thinkingConfig?: { thinkingBudget: number } } }).generationConfig?.thinkingConfig?.thinkingBudget ?? 0),
    ];
    expect(thinkingAsked.filter((budget) => budget > 8192).length).toBeGreaterThan(0);
    const statuses = outcomes.map((outcome) => outcome.status);
    expect(statuses.every((status) => status === 200 || status === 402)).toBe(true);
    expect(statuses.filter((status) => status === 200).length).toBeGreaterThan(0);
    expect(statuses.filter((status) => status === 402).length).toBeGreaterThan(0);

    const report = (await (await fetch(`${gateway.url}/admin/spend?scope=department:tight`, { headers: { authorization: `Bearer ${adminKey}` } })).json()) as {
      scopes: { budgets: { spent_micros: number; reserved_micros: number }[] }[];
    };
    expect(report.scopes[0]!.budgets[0]!.spent_micros).toBe(billed);
    expect(report.scopes[0]!.budgets[0]!.reserved_micros).toBe(0);
  });
});
