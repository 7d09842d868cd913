// One conformance suite for every provider type: the official openai and @anthropic-ai/sdk clients, unchanged but for
// the base URL, against the gateway in front of fake upstreams that implement each provider's documented API.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAnthropic, type FakeAnthropic } from './fakes/anthropic.js';
import { startFakeGemini, type FakeGemini } from './fakes/gemini.js';
import { startFakeOpenAI, type FakeOpenAI } from './fakes/openai.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const key = 'sk-conformance';
const adminKey = 'sk-conformance-admin';
let openaiUpstream: FakeOpenAI;
let compatibleUpstream: FakeOpenAI;
let anthropicUpstream: FakeAnthropic;
let geminiUpstream: FakeGemini;
let gateway: TestGateway;
let openai: OpenAI;
let anthropic: Anthropic;

/** Provider-billed cost of everything so far, by alias, from each fake's own bill. */
const bills: Record<string, () => number> = {};

beforeAll(async () => {
  openaiUpstream = await startFakeOpenAI({ apiKey: 'sk-up-openai', prices: { 'gpt-4o-mini-2024-07-18': { input_per_mtok: 0.15, output_per_mtok: 0.6 } } });
  compatibleUpstream = await startFakeOpenAI({ prices: { 'meta-llama/Llama-3.3-70B-Instruct': { input_per_mtok: 0.88, output_per_mtok: 0.88 } } });
  anthropicUpstream = await startFakeAnthropic({ apiKey: 'sk-up-anthropic' });
  geminiUpstream = await startFakeGemini({ apiKey: 'sk-up-gemini', prices: { 'gemini-2.0-flash': { input_per_mtok: 0.1, output_per_mtok: 0.4 } } });
  gateway = await startTestGateway(`
store: sqlite:{{DB}}
admin_keys: [ { name: ops, key_env: ADMIN_KEY } ]
providers:
  - { name: openai, type: openai, api_key_env: OPENAI_KEY, base_url: ${openaiUpstream.url} }
  - { name: llama, type: openai-compatible, base_url: ${compatibleUpstream.url} }
  - { name: anthropic, type: anthropic, api_key_env: ANTHROPIC_KEY, base_url: ${anthropicUpstream.url} }
  - { name: gemini, type: gemini, api_key_env: GEMINI_KEY, base_url: ${geminiUpstream.url} }
  - { name: mock, type: mock }
models:
  - { alias: openai, provider: openai, version: gpt-4o-mini-2024-07-18 }
  - { alias: llama, provider: llama, version: meta-llama/Llama-3.3-70B-Instruct, price: { input_per_mtok: 0.88, output_per_mtok: 0.88 } }
  - { alias: anthropic, provider: anthropic, version: claude-sonnet-4-20250514, price: { input_per_mtok: 3, output_per_mtok: 15 } }
  - { alias: gemini, provider: gemini, version: gemini-2.0-flash, price: { input_per_mtok: 0.1, output_per_mtok: 0.4 } }
  - { alias: mock, provider: mock, version: mock-1 }
org:
  name: acme
  departments:
    - name: lab
      keys: [ { name: tester, key_env: USER_KEY } ]
`, { USER_KEY: key, ADMIN_KEY: adminKey, OPENAI_KEY: 'sk-up-openai', ANTHROPIC_KEY: 'sk-up-anthropic', GEMINI_KEY: 'sk-up-gemini' });
  openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key, maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: gateway.url, apiKey: key, maxRetries: 0 });
  bills.openai = () => openaiUpstream.bill.costMicros;
  bills.llama = () => compatibleUpstream.bill.costMicros;
  bills.anthropic = () => anthropicUpstream.bill.costMicros;
  bills.gemini = () => geminiUpstream.bill.costMicros;
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([openaiUpstream?.close(), compatibleUpstream?.close(), anthropicUpstream?.close(), geminiUpstream?.close()]);
});

async function meteredCost(alias: string): Promise<number> {
  const response = await fetch(`${gateway.url}/admin/requests?limit=10000`, { headers: { authorization: `Bearer ${adminKey}` } });
  const log = (await response.json()) as { data: { alias: string; cost_micros: number }[] };
  return log.data.filter((row) => row.alias === alias).reduce((sum, row) => sum + row.cost_micros, 0);
}

const weatherTool = {
  type: 'function' as const,
  function: { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};

describe.each(['openai', 'llama', 'anthropic', 'gemini', 'mock'])('provider behind alias "%s"', (alias) => {
  it('answers a chat completion with text and usage through the openai SDK', async () => {
    const reply = await openai.chat.completions.create({ model: alias, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hello conformance suite' }], max_tokens: 50 });
    expect(reply.object).toBe('chat.completion');
    expect(reply.choices[0]!.message.role).toBe('assistant');
    expect(reply.choices[0]!.message.content!.length).toBeGreaterThan(0);
    expect(reply.choices[0]!.finish_reason).toBe('stop');
    expect(reply.usage!.prompt_tokens).toBeGreaterThan(0);
    expect(reply.usage!.completion_tokens).toBeGreaterThan(0);
  });

  it('stops at max_tokens with finish_reason length', async () => {
    const reply = await openai.chat.completions.create({ model: alias, messages: [{ role: 'user', content: 'one two three four five six seven eight nine ten' }], max_tokens: 3 });
    expect(reply.choices[0]!.finish_reason).toBe('length');
    expect(reply.usage!.completion_tokens).toBeLessThanOrEqual(3);
  });

  it('streams the same answer as JSON, in OpenAI chunks', async () => {
    const messages = [{ role: 'user' as const, content: 'stream this sentence back' }];
    const whole = await openai.chat.completions.create({ model: alias, messages, max_tokens: 40 });
    const stream = await openai.chat.completions.create({ model: alias, messages, max_tokens: 40, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(whole.choices[0]!.message.content);
    expect(finish).toBe('stop');
    expect(usage?.completion_tokens).toBe(whole.usage!.completion_tokens);
  });

  it('round-trips a tool call', async () => {
    const first = await openai.chat.completions.create({
      model: alias, tools: [weatherTool], tool_choice: { type: 'function', function: { name: 'get_weather' } },
      messages: [{ role: 'user', content: 'get_weather city=Paris' }],
    });
    const call = first.choices[0]!.message.tool_calls?.[0];
    expect(first.choices[0]!.finish_reason).toBe('tool_calls');
    expect(call && call.type === 'function' && call.function.name).toBe('get_weather');
    expect(() => JSON.parse(call!.type === 'function' ? call!.function.arguments : '')).not.toThrow();
    const second = await openai.chat.completions.create({
      model: alias, tools: [weatherTool],
      messages: [
        { role: 'user', content: 'get_weather city=Paris' },
        { role: 'assistant', content: null, tool_calls: [call!] },
        { role: 'tool', tool_call_id: call!.id, content: '{"temperature": 21}' },
      ],
    });
    expect(second.choices[0]!.message.content?.length ?? 0).toBeGreaterThan(0);
  });

  it('serves the Anthropic SDK on /v1/messages, JSON and stream', async () => {
    const message = await anthropic.messages.create({ model: alias, max_tokens: 50, messages: [{ role: 'user', content: 'hello from claude clients' }] });
    expect(message.type).toBe('message');
    expect(message.content[0]!.type).toBe('text');
    expect(message.stop_reason).toBe('end_turn');
    expect(message.usage.output_tokens).toBeGreaterThan(0);
    const stream = anthropic.messages.stream({ model: alias, max_tokens: 50, messages: [{ role: 'user', content: 'hello from claude clients' }] });
    const final = await stream.finalMessage();
    expect(final.content[0]!.type === 'text' && final.content[0]!.text).toBe(message.content[0]!.type === 'text' && message.content[0]!.text);
    expect(final.usage.output_tokens).toBe(message.usage.output_tokens);
  });
});

describe('metering', () => {
  it.each(['openai', 'llama', 'anthropic', 'gemini'])('the gateway meters exactly what the "%s" provider bills', async (alias) => {
    const billedBefore = bills[alias]!();
    const meteredBefore = await meteredCost(alias);
    // JSON, a stream, a tool call and the Anthropic route, each with a prompt whose cost is not a whole micro-dollar.
    const messages = [{ role: 'user' as const, content: 'metering check: seven words and a bit more' }];
    await openai.chat.completions.create({ model: alias, messages, max_tokens: 30 });
    const stream = await openai.chat.completions.create({ model: alias, messages, max_tokens: 30, stream: true });
    for await (const _chunk of stream) { /* read to the end */ }
    await openai.chat.completions.create({
      model: alias, tools: [weatherTool], tool_choice: { type: 'function', function: { name: 'get_weather' } },
      messages: [{ role: 'user', content: 'get_weather city=Oslo' }],
    });
    await anthropic.messages.create({ model: alias, max_tokens: 30, messages: [{ role: 'user', content: 'metering check from claude clients' }] });
    const billed = bills[alias]!() - billedBefore;
    expect(billed).toBeGreaterThan(0);
    // A stream's entry may land just after its last byte: wait for the log to catch up, then compare exactly.
    await expect.poll(async () => (await meteredCost(alias)) - meteredBefore, { timeout: 5000 }).toBe(billed);
  });
});
