// The fake Anthropic API itself: it must refuse what the real API refuses, and its bill must be exact.
import { afterEach, describe, expect, it } from 'vitest';
import { fakeApiKey, fakeInputTokens, startFakeAnthropic, type FakeAnthropic } from './fakes/anthropic.js';

let fake: FakeAnthropic | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const headers = { 'content-type': 'application/json', 'x-api-key': fakeApiKey, 'anthropic-version': '2023-06-01' };

async function post(body: unknown, extraHeaders: Record<string, string | undefined> = headers) {
  const clean = Object.fromEntries(Object.entries(extraHeaders).filter(([, value]) => value !== undefined)) as Record<string, string>;
  const response = await fetch(`${fake!.url}/v1/messages`, { method: 'POST', headers: clean, body: JSON.stringify(body) });
  return { status: response.status, body: await response.json() as Record<string, any> };
}

const valid = { model: 'claude-test', max_tokens: 100, messages: [{ role: 'user', content: 'hello there' }] };

describe('fake Anthropic API', () => {
  it('refuses a missing or wrong x-api-key with 401 in Anthropic\'s error shape', async () => {
    fake = await startFakeAnthropic();
    const answer = await post(valid, { ...headers, 'x-api-key': undefined });
    expect(answer.status).toBe(401);
    expect(answer.body).toMatchObject({ type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } });
  });

  it('requires the anthropic-version header', async () => {
    fake = await startFakeAnthropic();
    const answer = await post(valid, { ...headers, 'anthropic-version': undefined });
    expect(answer.status).toBe(400);
    expect(answer.body.error.message).toMatch(/anthropic-version/);
  });

  it('requires max_tokens, as the real API does', async () => {
    fake = await startFakeAnthropic();
    const answer = await post({ model: 'claude-test', messages: valid.messages });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens: Field required' } });
    expect(fake.bill.requests).toBe(0);
  });

  it('counts input tokens by the documented rule', async () => {
    fake = await startFakeAnthropic();
    const body = { ...valid, system: 'be brief', tools: [{ name: 'lookup', description: 'find a thing', input_schema: { type: 'object' } }] };
    const answer = await post(body);
    // system 2 + message 2 + tool "lookup find a thing {"type":"object"}" 5
    expect(answer.body.usage.input_tokens).toBe(9);
    expect(fakeInputTokens(body)).toBe(9);
  });

  it('keeps an exact bill per model at configured prices, each request rounded up to the micro-dollar', async () => {
    fake = await startFakeAnthropic({ prices: { cheap: { input_per_mtok: '0.25', output_per_mtok: 0.25, cache_read_per_mtok: 0, cache_write_per_mtok: 0 } } });
    await post({ ...valid, model: 'cheap', messages: [{ role: 'user', content: 'a b c' }] });
    await post({ ...valid, model: 'cheap', messages: [{ role: 'user', content: 'a b c' }] });
    await post(valid);
    expect(fake.bill.models.cheap).toMatchObject({ requests: 2, inputTokens: 6, outputTokens: 6 });
    // Each request: 6 tokens x 0.25 micro-dollars = 1.5 -> 2 (not 12 x 0.25 = 3 for the line); the default line: 2 x 3 + 2 x 15 = 36.
    expect(fake.bill.models.cheap!.costMicros).toBe(4);
    expect(fake.bill.costMicros).toBe(4 + 36);
    expect(fake.bill.requests).toBe(3);
  });

  it('bills prompt-cache reads and writes at their own prices', async () => {
    fake = await startFakeAnthropic({ cacheReadInputTokens: 1, cacheCreationInputTokens: 1 });
    const answer = await post({ ...valid, messages: [{ role: 'user', content: 'a b c d' }] });
    expect(answer.body.usage).toMatchObject({ input_tokens: 2, cache_read_input_tokens: 1, cache_creation_input_tokens: 1, output_tokens: 4 });
    // 2 x 3 + 1 x 0.30 + 1 x 3.75 + 4 x 15 = 70.05 -> 71 micro-dollars.
    expect(fake.bill.costMicros).toBe(71);
  });

  it('fails only the first N requests when asked, and waits the configured latency', async () => {
    fake = await startFakeAnthropic({ failWith: { status: 529, times: 1 }, latencyMs: 50 });
    const first = await post(valid);
    expect(first.status).toBe(529);
    expect(first.body.error.type).toBe('overloaded_error');
    const started = Date.now();
    const second = await post(valid);
    expect(second.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });

  it('takes option changes between requests', async () => {
    fake = await startFakeAnthropic();
    expect((await post(valid)).status).toBe(200);
    fake.options.failWith = { status: 400, message: 'prompt is too long' };
    const refused = await post(valid);
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toBe('prompt is too long');
  });
});
