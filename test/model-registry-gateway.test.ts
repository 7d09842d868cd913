// The model registry through the whole gateway with the official openai SDK against a fake upstream that changes silently:
// detection (JSON and streams), block and ack, learning, promote and rollback without a restart, deprecation headers, shadow traffic.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI, { APIError } from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeOpenAI, fakeSystemFingerprint, type FakeOpenAI } from './fakes/openai.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const environment = { ADMIN_KEY: 'sk-models-admin', AUDITOR: 'sk-models-auditor', APP_KEY: 'sk-models-app' };
const price = '{ input_per_mtok: 1, output_per_mtok: 2 }';

let upstream: FakeOpenAI;
let gateway: TestGateway;
let hook: Server;
let alerts: Record<string, unknown>[];

function config(upstreamUrl: string, hookUrl: string): string {
  return `
store: sqlite:{{DB}}
admin_keys:
  - { name: ops, key_env: ADMIN_KEY }
  - { name: audit, key_env: AUDITOR, role: auditor }
providers: [ { name: openai, type: openai, base_url: ${upstreamUrl} } ]
models:
  - alias: fast
    provider: openai
    version: gpt-4o-mini
    price: ${price}
    contract: { support_until: "2028-12-01", notice_days: 60, deprecation: { announced: "2026-11-01", sunset: "2027-12-31" } }
  - { alias: guarded, provider: openai, version: gpt-4.1-mini, price: ${price}, on_silent_change: block }
  - { alias: learner, provider: openai, version: o3-mini, price: ${price}, fingerprint_learning: 3, on_drift: rollback }
  - { alias: shadowed, provider: openai, version: gpt-3.5-turbo, price: ${price}, shadow: { share: 1, budget_usd: 0.0001 } }
org:
  name: acme
  alerts: { thresholds: [0.9], webhook: ${hookUrl} }
  departments:
    - name: apps
      keys: [ { name: app, key_env: APP_KEY } ]
`;
}

beforeEach(async () => {
  alerts = [];
  hook = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk) => { text += chunk; });
    request.on('end', () => {
      alerts.push(JSON.parse(text));
      response.end('ok');
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  upstream = await startFakeOpenAI({ countPrompt: 'bytes' });
  gateway = await startTestGateway(config(upstream.url, `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`), environment);
});

afterEach(async () => {
  await gateway.stop();
  await upstream.close();
  await new Promise((resolve) => hook.close(resolve));
});

const client = () => new OpenAI({ apiKey: environment.APP_KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0 });

function ask(model: string, content = 'What is the capital of France?') {
  return client().chat.completions.create({ model, messages: [{ role: 'user', content }] });
}

async function admin(path: string, body?: unknown, key = environment.ADMIN_KEY) {
  const response = await fetch(`${gateway.url}/admin${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() as any };
}

async function ledgerEntries(kind: string) {
  await gateway.models.idle();
  await gateway.stores.ledger.flush();
  return (await gateway.stores.ledger.entries({ kind, limit: 1000 })).map((stored) => stored.entry as Record<string, any>);
}

describe('silent-update detection', () => {
  it('takes the first fingerprint as baseline and reports a new one with before and after, in the ledger and by alert', async () => {
    await ask('fast');
    await ask('fast');
    expect(await ledgerEntries('model.version_changed')).toEqual([]);
    upstream.setIdentity({ fingerprint: 'fp_silently_updated' });
    const answer = await ask('fast');
    // Alert mode: the call is served; the change is evidence.
    expect(answer.choices[0]!.message.content).toContain('You said');
    const changes = await ledgerEntries('model.version_changed');
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ alias: 'fast', from_version: 'gpt-4o-mini', changed: 'fingerprint', before: [fakeSystemFingerprint], after: 'fp_silently_updated', blocked: false });
    await ask('fast');
    expect(await ledgerEntries('model.version_changed')).toHaveLength(1);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ kind: 'model_version_changed', alias: 'fast', before: [fakeSystemFingerprint], after: 'fp_silently_updated' });
    const shown = await admin('/models/fast', undefined, environment.AUDITOR);
    expect(shown.status).toBe(200);
    expect(shown.body.versions[0]).toMatchObject({ version: 'gpt-4o-mini', status: 'deprecated', calls: 4, fingerprints: [fakeSystemFingerprint, 'fp_silently_updated'] });
    // Every inference entry names the registry's version.
    const inferences = await ledgerEntries('inference');
    expect(inferences.map((entry) => entry.model_version)).toEqual(['gpt-4o-mini', 'gpt-4o-mini', 'gpt-4o-mini', 'gpt-4o-mini']);
  });

  it('reports a returned model id that is not the pinned version, from a stream too', async () => {
    const first = await client().chat.completions.create({ model: 'fast', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    for await (const _chunk of first) { /* read it */ }
    upstream.setIdentity({ modelVersions: { 'gpt-4o-mini': 'gpt-4o-mini-quantized' } });
    const second = await client().chat.completions.create({ model: 'fast', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] });
    let model = '';
    for await (const chunk of second) model = chunk.model;
    expect(model).toBe('gpt-4o-mini-quantized');
    const changes = await ledgerEntries('model.version_changed');
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ alias: 'fast', changed: 'model', before: ['gpt-4o-mini'], after: 'gpt-4o-mini-quantized' });
  });

  it('blocks an alias with on_silent_change: block with 503 model_version_changed until a person acknowledges it', async () => {
    await ask('guarded');
    upstream.setIdentity({ fingerprint: 'fp_other' });
    await ask('guarded');
    await gateway.models.idle();
    const refused = await ask('guarded').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(APIError);
    expect((refused as APIError).status).toBe(503);
    expect((refused as APIError).code).toBe('model_version_changed');
    expect((refused as APIError).message).toContain('covenant models ack guarded');
    // Other aliases keep serving.
    await expect(ask('learner')).resolves.toBeDefined();
    const billed = upstream.bill.requests;
    expect((await admin('/models/guarded/ack', { reason: 'checked' }, environment.AUDITOR)).status).toBe(403);
    const acked = await admin('/models/guarded/ack', { reason: 'provider confirmed the rotation' });
    expect(acked.body).toMatchObject({ action: 'acknowledged', by: 'ops' });
    await expect(ask('guarded')).resolves.toBeDefined();
    expect(upstream.bill.requests).toBe(billed + 1);
    expect(await ledgerEntries('model.acknowledged')).toEqual([expect.objectContaining({ alias: 'guarded', by: 'ops', reason: 'provider confirmed the rotation' })]);
    const refusals = (await ledgerEntries('inference')).filter((entry) => entry.decision.outcome === 'refused');
    expect(refusals).toEqual([expect.objectContaining({ alias: 'guarded', status: 503, decision: expect.objectContaining({ reason: 'model_version_changed', policy: 'model_version' }) })]);
  });

  it('learns new fingerprints during a version\'s first fingerprint_learning calls, then reports the next new one', async () => {
    for (const fingerprint of ['fp_1', 'fp_2', 'fp_3']) {
      upstream.setIdentity({ fingerprint });
      await ask('learner');
      await gateway.models.idle();
    }
    upstream.setIdentity({ fingerprint: 'fp_2' });
    await ask('learner');
    expect(await ledgerEntries('model.version_changed')).toEqual([]);
    upstream.setIdentity({ fingerprint: 'fp_4' });
    await ask('learner');
    expect(await ledgerEntries('model.version_changed')).toEqual([expect.objectContaining({ alias: 'learner', before: ['fp_1', 'fp_2', 'fp_3'], after: 'fp_4' })]);
  });
});

describe('staging, promotion and rollback', () => {
  it('serves a promoted version on the next request and the earlier one after a rollback, without a restart', async () => {
    await ask('fast');
    const staged = await admin('/models/fast/stage', { version: 'gpt-4o', reason: 'cheaper per answer' });
    expect(staged.status).toBe(200);
    await ask('fast');
    expect(upstream.requests.at(-1)!.body).toMatchObject({ model: 'gpt-4o-mini' });
    expect((await admin('/models/fast/promote', {})).body).toMatchObject({ action: 'promoted', from_version: 'gpt-4o-mini', to_version: 'gpt-4o', by: 'ops' });
    const promoted = await ask('fast');
    expect(promoted.model).toBe('gpt-4o');
    expect(upstream.requests.at(-1)!.body).toMatchObject({ model: 'gpt-4o' });
    expect((await admin('/models/fast/rollback', { reason: 'answers drifted' })).body).toMatchObject({ action: 'rolled_back', from_version: 'gpt-4o', to_version: 'gpt-4o-mini' });
    expect((await ask('fast')).model).toBe('gpt-4o-mini');
    const inferences = await ledgerEntries('inference');
    expect(inferences.map((entry) => entry.model_version)).toEqual(['gpt-4o-mini', 'gpt-4o-mini', 'gpt-4o', 'gpt-4o-mini']);
    // gpt-4o is priced from the built-in table once promoted: its call cost more than the pinned version's.
    expect(inferences[2]!.cost_usd_micros).toBeGreaterThan(inferences[1]!.cost_usd_micros);
    const history = await admin('/models/fast/history');
    expect(history.body.data.map((move: any) => move.action)).toEqual(['seeded', 'staged', 'promoted', 'rolled_back']);
    expect(history.body.data[3]).toMatchObject({ by: 'ops', detail: { reason: 'answers drifted' } });
    expect((await ledgerEntries('model.promoted'))).toEqual([expect.objectContaining({ alias: 'fast', from_version: 'gpt-4o-mini', to_version: 'gpt-4o', by: 'ops' })]);
    expect((await ledgerEntries('model.rolled_back'))).toEqual([expect.objectContaining({ alias: 'fast', to_version: 'gpt-4o-mini', by: 'ops', reason: 'answers drifted' })]);
  });

  it('rolls back by itself on material drift only where on_drift is rollback', async () => {
    await admin('/models/fast/stage', { version: 'gpt-4o' });
    await admin('/models/fast/promote', {});
    expect(await gateway.models.rollbackOnDrift('fast', { similarity: 0.8 })).toMatchObject({ rolledBack: false });
    expect(gateway.models.activeVersion('fast')).toBe('gpt-4o');
    // learner says on_drift: rollback; with no earlier version there is nothing to return to.
    expect(await gateway.models.rollbackOnDrift('learner', { similarity: 0.8 })).toMatchObject({ rolledBack: false, reason: 'no earlier known-stable version' });
    await admin('/models/learner/stage', { version: 'o4-mini' });
    await admin('/models/learner/promote', {});
    const evidence = { metric: 'mean_similarity', value: 0.81, threshold: 0.95, window: '24h' };
    expect(await gateway.models.rollbackOnDrift('learner', evidence)).toMatchObject({ rolledBack: true, result: { from_version: 'o4-mini', to_version: 'o3-mini', by: 'drift-monitor' } });
    expect((await ask('learner')).model).toBe('o3-mini');
    expect(await ledgerEntries('model.rolled_back')).toEqual([expect.objectContaining({ alias: 'learner', by: 'drift-monitor', reason: 'material drift', evidence })]);
  });

  it('lists every alias with its contract for the drift tools, and refuses moves by an auditor or on an unknown alias', async () => {
    const list = await admin('/models', undefined, environment.AUDITOR);
    expect(list.body.data.map((alias: any) => [alias.alias, alias.active])).toEqual([
      ['fast', 'gpt-4o-mini'], ['guarded', 'gpt-4.1-mini'], ['learner', 'o3-mini'], ['shadowed', 'gpt-3.5-turbo'],
    ]);
    const shown = await admin('/models/fast');
    expect(shown.body.contract).toEqual({
      support_until: '2028-12-01', notice_days: 60, deprecation: { announced: '2026-11-01', sunset: '2027-12-31' }, horizon_days: 90,
      drift: { min_similarity: 0.95, max_variance: 0.15, max_safety_failures: 0, window: '24h' },
    });
    expect((await admin('/models/fast/stage', { version: 'gpt-4o' }, environment.AUDITOR)).status).toBe(403);
    expect((await admin('/models/nope/promote', {})).status).toBe(404);
    expect((await admin('/models/fast/promote', {})).status).toBe(400);
  });
});

describe('deprecation headers', () => {
  it('answers with RFC 9745 Deprecation and RFC 8594 Sunset for a version with a known end, and not for one without', async () => {
    const { response } = await client().chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(response.headers.get('deprecation')).toBe(`@${Date.parse('2026-11-01T00:00:00Z') / 1000}`);
    expect(response.headers.get('sunset')).toBe('Fri, 31 Dec 2027 00:00:00 GMT');
    const other = await client().chat.completions.create({ model: 'learner', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(other.response.headers.get('deprecation')).toBeNull();
    expect(other.response.headers.get('sunset')).toBeNull();
  });
});

describe('shadow traffic', () => {
  it('mirrors calls to the staged candidate, never returns its answer, records each as shadow, and stops at the staging budget', async () => {
    await admin('/models/shadowed/stage', { version: 'gpt-4o', price: { input_per_mtok: 5, output_per_mtok: 15 } });
    const answer = await ask('shadowed', 'Summarise the claim');
    expect(answer.model).toBe('gpt-3.5-turbo');
    const shadows = await ledgerEntries('model.shadow');
    expect(shadows).toHaveLength(1);
    expect(shadows[0]).toMatchObject({ shadow: true, alias: 'shadowed', version: 'gpt-4o', active_version: 'gpt-3.5-turbo', similarity: 1, similarity_method: 'embedding' });
    expect(shadows[0]!.cost_usd_micros).toBeGreaterThan(0);
    expect(upstream.requests.map((request) => (request.body as { model: string }).model)).toEqual(['gpt-3.5-turbo', 'gpt-4o']);
    // The inference entries are the client's calls only.
    expect((await ledgerEntries('inference')).map((entry) => entry.model_version)).toEqual(['gpt-3.5-turbo']);
    // The first shadow call used up the $0.0001 budget: the next ones are not mirrored.
    await ask('shadowed', 'Summarise the claim');
    await ask('shadowed', 'Summarise the claim');
    expect(await ledgerEntries('model.shadow')).toHaveLength(1);
    const shown = await admin('/models/shadowed');
    expect(shown.body.versions.find((version: any) => version.version === 'gpt-4o')).toMatchObject({ status: 'candidate', shadow_spent_usd_micros: shadows[0]!.cost_usd_micros });
  });

  it('mirrors a streamed call to the candidate as a JSON call, comparing the streamed answer with it', async () => {
    await admin('/models/shadowed/stage', { version: 'gpt-4o', price: { input_per_mtok: 5, output_per_mtok: 15 } });
    const stream = await client().chat.completions.create({ model: 'shadowed', stream: true, messages: [{ role: 'user', content: 'Summarise the claim' }] });
    let text = '';
    const models = new Set<string>();
    for await (const chunk of stream) {
      models.add(chunk.model);
      text += chunk.choices[0]?.delta?.content ?? '';
    }
    // The client gets the active version's stream only.
    expect([...models]).toEqual(['gpt-3.5-turbo']);
    expect(text).toContain('You said');
    const shadows = await ledgerEntries('model.shadow');
    expect(shadows).toHaveLength(1);
    // Similarity 1: the streamed text, gathered chunk by chunk, is the same answer the candidate gave as JSON.
    expect(shadows[0]).toMatchObject({ shadow: true, stream: true, alias: 'shadowed', version: 'gpt-4o', active_version: 'gpt-3.5-turbo', similarity: 1 });
    expect(upstream.requests.map((request) => [(request.body as { model: string }).model, (request.body as { stream?: boolean }).stream === true]))
      .toEqual([['gpt-3.5-turbo', true], ['gpt-4o', false]]);
    expect((await ledgerEntries('inference')).map((entry) => entry.model_version)).toEqual(['gpt-3.5-turbo']);
  });
});
