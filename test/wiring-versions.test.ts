// x-covenant-model-version end to end: `covenant drift run --version CANDIDATE` is served by the staged candidate while
// ordinary traffic keeps the active version; an unknown version is refused with model_version_not_found.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI, { APIError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from './fakes/openai.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { runCovenant } from './helpers/process.js';

const secrets = { ADMIN_KEY: 'sk-versions-admin', DRIFT_KEY: 'sk-versions-bot', APP_KEY: 'sk-versions-app' };
let upstream: FakeOpenAI;
let gateway: TestGateway;
let suite: string;

function covenant(args: string[]) {
  return runCovenant(['drift', ...args, '--url', gateway.url, '--config', join(gateway.directory, 'covenant.yaml'), '--admin-key-env', 'ADMIN_KEY'], { environment: secrets });
}

async function entries(kind: string): Promise<Record<string, any>[]> {
  await gateway.stores.ledger.flush();
  return (await gateway.stores.ledger.entries({ kind, limit: 1000 })).map((stored) => stored.entry as Record<string, any>);
}

beforeAll(async () => {
  upstream = await startFakeOpenAI({ behaviour: { reply: (prompt) => `Answer: ${prompt}` } });
  gateway = await startTestGateway(`
store: sqlite:{{DB}}
admin_keys: [ { name: ops, key_env: ADMIN_KEY } ]
providers: [ { name: openai, type: openai, base_url: ${upstream.url} } ]
models: [ { alias: support, provider: openai, version: gpt-4o-mini } ]
org:
  name: acme
  departments:
    - name: quality
      keys: [ { name: drift-bot, key_env: DRIFT_KEY }, { name: app, key_env: APP_KEY } ]
`, secrets);
  suite = join(gateway.directory, 'golden.jsonl');
  writeFileSync(suite, ['Where is my parcel?', 'How do I reset my password?', 'Do you ship to Norway?']
    .map((content, index) => JSON.stringify({ id: `item-${index}`, messages: [{ role: 'user', content }] })).join('\n'));
  await gateway.models.stage('support', 'gpt-4o', 'ops');
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
});

describe('x-covenant-model-version', () => {
  it('serves a drift run the candidate it names while ordinary traffic keeps the active version', async () => {
    const baseline = join(gateway.directory, 'baseline.json');
    const recorded = await covenant(['baseline', '--suite', suite, '--model', 'support', '--key', 'drift-bot', '--out', baseline]);
    expect(recorded.stderr).toBe('');
    expect(recorded.code).toBe(0);
    const requestsBefore = upstream.requests.length;
    const run = await covenant(['run', '--suite', suite, '--baseline', baseline, '--model', 'support', '--version', 'gpt-4o', '--key', 'drift-bot',
      '--format', 'json', '--min-latency-change-ms', '1000']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ requested_version: 'gpt-4o', baseline: { versions_seen: ['gpt-4o-mini'] }, candidate: { versions_seen: ['gpt-4o'] } });
    expect(new Set(upstream.requests.slice(requestsBefore).map((request) => (request.body as { model: string }).model))).toEqual(new Set(['gpt-4o']));

    // Ordinary traffic is served by the active version; the candidate is still only staged.
    const client = new OpenAI({ apiKey: secrets.APP_KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    expect((await client.chat.completions.create({ model: 'support', messages: [{ role: 'user', content: 'hi' }] })).model).toBe('gpt-4o-mini');
    expect(gateway.models.activeVersion('support')).toBe('gpt-4o-mini');

    const inferences = await entries('inference');
    const byKey = (name: string) => inferences.filter((entry) => entry.key === name).map((entry) => entry.model_version);
    expect(byKey('app')).toEqual(['gpt-4o-mini']);
    const bot = byKey('drift-bot');
    expect(bot.filter((version) => version === 'gpt-4o').length).toBeGreaterThanOrEqual(3);
    expect(bot.filter((version) => version === 'gpt-4o-mini').length).toBeGreaterThanOrEqual(3);
    // No shadow traffic from a requested version's calls.
    expect(await entries('model.shadow')).toEqual([]);
  });

  it('refuses a version the registry does not know for the alias with 404 model_version_not_found', async () => {
    const client = new OpenAI({ apiKey: secrets.APP_KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const refused = await client.chat.completions.create({ model: 'support', messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-covenant-model-version': 'gpt-9' } })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(APIError);
    expect((refused as APIError).status).toBe(404);
    expect((refused as APIError).code).toBe('model_version_not_found');
    expect((refused as APIError).message).toContain('The model "support" has no version "gpt-9"');
    // The pinned version asked for by name is served.
    const pinned = await client.chat.completions.create({ model: 'support', messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-covenant-model-version': 'gpt-4o-mini' } });
    expect(pinned.model).toBe('gpt-4o-mini');
    const refusals = (await entries('inference')).filter((entry) => entry.decision?.outcome === 'refused');
    expect(refusals.at(-1)).toMatchObject({ key: 'app', status: 404, decision: expect.objectContaining({ reason: 'model_version_not_found' }) });
  });
});
