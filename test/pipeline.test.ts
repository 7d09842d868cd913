// The request pipeline alone, with fake stages, a fake provider and a fake reply (no HTTP): admission order, finishes
// after refusals and failures, required evidence, and the replaceable version step.
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../src/config/load.js';
import { resolveConfig } from '../src/config/resolve.js';
import type { ChatRequest } from '../src/core/chat-types.js';
import { CovenantError } from '../src/core/errors.js';
import type { FinishedContext, Stage } from '../src/gateway/context.js';
import { Pipeline, type ChatEndpoint, type Reply } from '../src/gateway/pipeline.js';
import type { VersionResolver } from '../src/gateway/versions.js';
import type { ChatResult, ProviderAdapter } from '../src/providers/types.js';
import type { KeyRecord } from '../src/stores/records.js';

const config = resolveConfig(parseConfigText(`
store: "sqlite::memory:"
providers: [ { name: fake, type: mock } ]
models:
  - { alias: demo, provider: fake, version: fake-model-1 }
org:
  name: acme
  departments: [ { name: claims } ]
`, '<test>'), {});

const key: KeyRecord = {
  id: 'key_1', department: 'claims', name: 'bot', models: null, budgets: [], source: 'api', secretHash: 'x', createdAt: '2026-01-01T00:00:00Z', revokedAt: null,
};

const answer = (model: string): ChatResult => ({
  response: { id: 'chatcmpl-1', object: 'chat.completion', created: 0, model, choices: [{ index: 0, message: { role: 'assistant', content: 'hello' }, finish_reason: 'stop' }] },
  usage: { inputTokens: 3, outputTokens: 1, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 },
  warnings: [],
});

/** A provider that answers, or fails with `failure`; it records the upstream requests it got. */
function fakeProvider(failure?: Error) {
  const requests: ChatRequest[] = [];
  const provider: ProviderAdapter = {
    name: 'fake',
    type: 'mock',
    async chat({ request }) {
      requests.push(request);
      if (failure) throw failure;
      return answer(request.model);
    },
    async chatStream() {
      throw new Error('not used');
    },
  };
  return { provider, requests };
}

/** A reply that keeps what was sent. */
function fakeReply() {
  const sent: { headers: Record<string, string>; type?: string; body?: string } = { headers: {} };
  const reply: Reply = {
    headers(values) { Object.assign(sent.headers, values); },
    header(name, value) { sent.headers[name] = value; },
    type(contentType) { sent.type = contentType; },
    send(payload) { sent.body = payload; },
    hijack() { throw new Error('not a stream'); },
    get raw(): never { throw new Error('not a stream'); },
  };
  return { reply, sent };
}

/** A stage that logs its admit and finish, refusing or failing to finish when told to. */
function fakeStage(name: string, log: string[], options: { refuse?: boolean; failFinish?: boolean; required?: boolean } = {}): Stage & { seen: FinishedContext[] } {
  const seen: FinishedContext[] = [];
  return {
    name,
    required: options.required,
    seen,
    admit() {
      log.push(`admit ${name}`);
      if (options.refuse) throw new CovenantError('budget_exceeded', `${name} says no`);
    },
    async finish(context) {
      log.push(`finish ${name}`);
      seen.push(context);
      if (options.failFinish) throw new Error(`${name} could not record`);
    },
  };
}

const endpoint: ChatEndpoint = {
  route: 'chat',
  body: (result) => result.response,
  streamFormat: () => { throw new Error('not a stream'); },
};

const request = (): ChatRequest => ({ model: 'demo', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 });

function pipeline(stages: Stage[], provider: ProviderAdapter, options: { versions?: VersionResolver } = {}) {
  return new Pipeline({ config, providers: new Map([['fake', provider]]), stages, metrics: { observe() {} }, ...options });
}

const call = () => ({ endpoint, key, request: request(), rawBody: '{}', userHeader: undefined });

describe('pipeline', () => {
  it('admits through the stages in their declared order, calls the provider with the pinned version, then finishes every stage', async () => {
    const log: string[] = [];
    const stages = [fakeStage('first', log), fakeStage('second', log), fakeStage('third', log)];
    const { provider, requests } = fakeProvider();
    const { reply, sent } = fakeReply();
    await pipeline(stages, provider).run(call(), reply);
    expect(log.slice(0, 3)).toEqual(['admit first', 'admit second', 'admit third']);
    expect(log.slice(3).sort()).toEqual(['finish first', 'finish second', 'finish third']);
    expect(requests.map((upstream) => upstream.model)).toEqual(['fake-model-1']);
    expect(JSON.parse(sent.body!).model).toBe('fake-model-1');
    expect(sent.headers['x-covenant-request-id']).toMatch(/^req_/);
    expect(sent.headers['x-covenant-cost-usd']).toBeDefined();
    expect(stages[2]!.seen[0]!.outcome).toEqual({ kind: 'completed', clientGone: false });
  });

  it('on a refusal stops admitting, never calls the provider, and runs every stage\'s finish with the refusal', async () => {
    const log: string[] = [];
    const stages = [fakeStage('first', log), fakeStage('second', log, { refuse: true }), fakeStage('third', log)];
    const { provider, requests } = fakeProvider();
    const { reply, sent } = fakeReply();
    const error = await pipeline(stages, provider).run(call(), reply).then(() => undefined, (thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(CovenantError);
    expect((error as CovenantError).code).toBe('budget_exceeded');
    expect((error as CovenantError).headers['x-covenant-request-id']).toMatch(/^req_/);
    expect(log.filter((line) => line.startsWith('admit'))).toEqual(['admit first', 'admit second']);
    expect(log.filter((line) => line.startsWith('finish')).sort()).toEqual(['finish first', 'finish second', 'finish third']);
    for (const stage of stages) expect(stage.seen[0]!.outcome).toMatchObject({ kind: 'refused', stage: 'second', error: { code: 'budget_exceeded' } });
    expect(requests).toHaveLength(0);
    expect(sent.body).toBeUndefined();
  });

  it('withholds the answer when a required finish fails (evidence_unavailable), not when an optional one does', async () => {
    const required = fakeReply();
    const withheld = await pipeline([fakeStage('ledger', [], { required: true, failFinish: true })], fakeProvider().provider)
      .run(call(), required.reply).then(() => undefined, (thrown: unknown) => thrown);
    expect(withheld).toMatchObject({ code: 'evidence_unavailable', status: 503 });
    expect(required.sent.body).toBeUndefined();

    const optional = fakeReply();
    await pipeline([fakeStage('notes', [], { failFinish: true })], fakeProvider().provider).run(call(), optional.reply);
    expect(JSON.parse(optional.sent.body!).choices[0].message.content).toBe('hello');
  });

  it('runs every finish with outcome failed when the provider fails, and throws the failure', async () => {
    const log: string[] = [];
    const stages = [fakeStage('first', log), fakeStage('second', log)];
    const { reply, sent } = fakeReply();
    const error = await pipeline(stages, fakeProvider(new Error('connection reset')).provider).run(call(), reply).then(() => undefined, (thrown: unknown) => thrown);
    expect(error).toMatchObject({ code: 'upstream_error' });
    for (const stage of stages) expect(stage.seen[0]!.outcome).toMatchObject({ kind: 'failed', error: { code: 'upstream_error' } });
    expect(log.filter((line) => line.startsWith('finish'))).toHaveLength(2);
    expect(sent.body).toBeUndefined();
  });

  it('resolves the alias through a replaceable version step', async () => {
    const { provider, requests } = fakeProvider();
    const pinned = config.models.get('demo')!;
    const versions = { resolve: (alias: string) => (alias === 'demo' ? { ...pinned, version: 'fake-model-2' } : undefined) };
    await pipeline([], provider, { versions }).run(call(), fakeReply().reply);
    expect(requests.map((upstream) => upstream.model)).toEqual(['fake-model-2']);
  });

  it('finishes every stage for a request refused before it had a model, naming the alias asked for', async () => {
    const log: string[] = [];
    const stages = [fakeStage('first', log), fakeStage('second', log)];
    const refusal = await pipeline(stages, fakeProvider().provider).refuse(
      { route: 'chat', key, body: { model: 'unknown' }, rawBody: '{"model":"unknown"}', userHeader: 'jane' }, new CovenantError('model_not_found', 'unknown'),
    );
    expect(refusal.headers['x-covenant-request-id']).toMatch(/^req_/);
    expect(log.sort()).toEqual(['finish first', 'finish second']);
    expect(stages[0]!.seen[0]).toMatchObject({ model: null, provider: null, alias: 'unknown', user: 'jane', status: 404, outcome: { kind: 'refused', stage: 'access' } });
  });
});
