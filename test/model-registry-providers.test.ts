// Silent-update detection beyond OpenAI's system_fingerprint: Gemini's modelVersion (JSON and stream chunks) and
// Anthropic's returned model, through the whole gateway against fakes that swap the snapshot behind the same id.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeAnthropic, type FakeAnthropic } from './fakes/anthropic.js';
import { startFakeGemini, type FakeGemini } from './fakes/gemini.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const environment = { ADMIN_KEY: 'sk-providers-admin', APP_KEY: 'sk-providers-app', ANTHROPIC_KEY: 'sk-up-anthropic', GEMINI_KEY: 'sk-up-gemini' };
let gemini: FakeGemini;
let anthropic: FakeAnthropic;
let gateway: TestGateway;

beforeEach(async () => {
  gemini = await startFakeGemini({ apiKey: environment.GEMINI_KEY, modelVersions: { 'gemini-2.0-flash': 'gemini-2.0-flash-001' } });
  anthropic = await startFakeAnthropic({ apiKey: environment.ANTHROPIC_KEY });
  gateway = await startTestGateway(`
store: sqlite:{{DB}}
admin_keys: [ { name: ops, key_env: ADMIN_KEY } ]
providers:
  - { name: anthropic, type: anthropic, api_key_env: ANTHROPIC_KEY, base_url: ${anthropic.url} }
  - { name: gemini, type: gemini, api_key_env: GEMINI_KEY, base_url: ${gemini.url} }
models:
  - { alias: claude, provider: anthropic, version: claude-sonnet-4-20250514, price: { input_per_mtok: 3, output_per_mtok: 15 } }
  - { alias: flash, provider: gemini, version: gemini-2.0-flash, price: { input_per_mtok: 0.1, output_per_mtok: 0.4 } }
  - { alias: flash-guarded, provider: gemini, version: gemini-2.0-flash, price: { input_per_mtok: 0.1, output_per_mtok: 0.4 }, on_silent_change: block }
org:
  name: acme
  departments:
    - name: apps
      keys: [ { name: app, key_env: APP_KEY } ]
`, environment);
});

afterEach(async () => {
  await gateway.stop();
  await Promise.all([gemini.close(), anthropic.close()]);
});

const openai = () => new OpenAI({ apiKey: environment.APP_KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0 });

async function changes() {
  await gateway.models.idle();
  await gateway.stores.ledger.flush();
  return (await gateway.stores.ledger.entries({ kind: 'model.version_changed', limit: 100 })).map((stored) => stored.entry as Record<string, any>);
}

describe('Gemini modelVersion', () => {
  it('takes the first modelVersion as the baseline and reports a new snapshot behind the same id', async () => {
    for (let index = 0; index < 2; index++) await openai().chat.completions.create({ model: 'flash', messages: [{ role: 'user', content: 'hi' }] });
    expect(await changes()).toEqual([]);
    gemini.setModelVersions({ 'gemini-2.0-flash': 'gemini-2.0-flash-002' });
    const answer = await openai().chat.completions.create({ model: 'flash', messages: [{ role: 'user', content: 'hi' }] });
    expect(answer.model).toBe('gemini-2.0-flash-002');
    const found = await changes();
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ alias: 'flash', from_version: 'gemini-2.0-flash', changed: 'model', before: ['gemini-2.0-flash-001'], after: 'gemini-2.0-flash-002' });
  });

  it('reads it from stream chunks, and blocks an alias with on_silent_change: block', async () => {
    const read = async () => {
      const stream = await openai().chat.completions.create({ model: 'flash-guarded', stream: true, messages: [{ role: 'user', content: 'hi' }] });
      let model = '';
      for await (const chunk of stream) model = chunk.model;
      return model;
    };
    expect(await read()).toBe('gemini-2.0-flash-001');
    gemini.setModelVersions({ 'gemini-2.0-flash': 'gemini-2.0-flash-lite' });
    expect(await read()).toBe('gemini-2.0-flash-lite');
    const found = await changes();
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ alias: 'flash-guarded', changed: 'model', before: ['gemini-2.0-flash-001'], after: 'gemini-2.0-flash-lite', blocked: true });
    const refused = await openai().chat.completions.create({ model: 'flash-guarded', messages: [{ role: 'user', content: 'hi' }] }).catch((error: unknown) => error);
    expect(refused).toMatchObject({ status: 503 });
  });
});

describe('Anthropic returned model', () => {
  it('reports an answer naming another snapshot than the pinned one, over the Messages API and streamed', async () => {
    const client = new Anthropic({ apiKey: environment.APP_KEY, baseURL: gateway.url, maxRetries: 0 });
    const first = await client.messages.create({ model: 'claude', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] });
    expect(first.model).toBe('claude-sonnet-4-20250514');
    expect(await changes()).toEqual([]);
    anthropic.options.returnedModels = { 'claude-sonnet-4-20250514': 'claude-sonnet-4-20250722' };
    const stream = client.messages.stream({ model: 'claude', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] });
    expect((await stream.finalMessage()).content[0]).toMatchObject({ type: 'text' });
    const found = await changes();
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ alias: 'claude', changed: 'model', before: ['claude-sonnet-4-20250514'], after: 'claude-sonnet-4-20250722' });
  });
});
