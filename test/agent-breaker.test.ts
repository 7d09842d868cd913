// The agent-loop breaker through the whole gateway: a runaway agent (the official openai SDK calling the same tool with the
// same arguments) is stopped within its policy, with and without a session header and with concurrent steps; the stop
// is alerted, on the ledger, listed, and resumed only by a person (API and CLI); other traffic is untouched.
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI, { APIError } from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfigText } from '../src/config/load.js';
import { resolveConfig } from '../src/config/resolve.js';
import { startApp } from '../src/gateway/app.js';
import { startFakeOpenAI, type FakeOpenAI } from './fakes/openai.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../bin/covenant', import.meta.url));
const version = 'gpt-4o-mini-2024-07-18';
const price = { input_per_mtok: 10, output_per_mtok: 30 };
const environment = {
  ADMIN_KEY: 'sk-agent-admin', CLAIMS_ADMIN: 'sk-claims-admin', LEGAL_ADMIN: 'sk-legal-admin', AUDITOR: 'sk-auditor',
  KEY_AGENT: 'sk-agent', KEY_PARALLEL: 'sk-parallel', KEY_SPEND: 'sk-spend', KEY_PLAIN: 'sk-plain',
};

let upstream: FakeOpenAI;
let gateway: TestGateway;
let hook: Server;
let alerts: Record<string, unknown>[];

function config(upstreamUrl: string, hookUrl: string): string {
  return `
store: sqlite:{{DB}}
admin_keys:
  - { name: ops, key_env: ADMIN_KEY }
  - { name: claims-lead, key_env: CLAIMS_ADMIN, department: claims }
  - { name: legal-lead, key_env: LEGAL_ADMIN, department: legal }
  - { name: audit, key_env: AUDITOR, role: auditor }
providers: [ { name: openai, type: openai, base_url: ${upstreamUrl} } ]
models: [ { alias: fast, provider: openai, version: ${version}, price: { input_per_mtok: ${price.input_per_mtok}, output_per_mtok: ${price.output_per_mtok} } } ]
org:
  name: acme
  departments:
    - name: claims
      alerts: { thresholds: [0.9], webhook: ${hookUrl} }
      agent: { max_steps: 50, max_repeated_tool_calls: 4, max_identical_requests: 3, identical_window: 10m, max_duration: 30m }
      keys:
        - { name: agent-bot, key_env: KEY_AGENT }
        - { name: parallel-bot, key_env: KEY_PARALLEL, agent: { max_steps: 10 } }
        - { name: spender, key_env: KEY_SPEND, agent: { max_session_usd: 0.004 } }
    - name: legal
      keys:
        - { name: plain, key_env: KEY_PLAIN }
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
  upstream = await startFakeOpenAI({ prices: { [version]: price }, outputTokens: 20 });
  gateway = await startTestGateway(config(upstream.url, `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`), environment);
});

afterEach(async () => {
  await gateway.stop();
  await upstream.close();
  await new Promise((resolve) => hook.close(resolve));
});

const tools: ChatCompletionTool[] = [{
  type: 'function',
  function: { name: 'lookup_claim', parameters: { type: 'object', properties: { claim: { type: 'string' } }, required: ['claim'] } },
}];

function client(key: string, headers: Record<string, string> = {}): OpenAI {
  return new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0, defaultHeaders: headers });
}

interface LoopResult {
  steps: number;
  error: APIError;
}

/**
 * A stuck agent: it calls the model, runs the tool the model asked for, sends the result back, and repeats until the
 * gateway stops it. `window`: how many of the latest tool exchanges it resends (undefined: the whole conversation).
 */
async function runawayAgent(openai: OpenAI, window?: number): Promise<LoopResult> {
  const start: ChatCompletionMessageParam[] = [
    { role: 'system', content: 'You are a claims agent.' },
    { role: 'user', content: 'Check claim 42 until it is approved.' },
  ];
  let exchanges: ChatCompletionMessageParam[] = [];
  for (let steps = 0; steps < 100; steps += 1) {
    let completion;
    try {
      completion = await openai.chat.completions.create({ model: 'fast', messages: [...start, ...exchanges], tools, tool_choice: 'required' });
    } catch (error) {
      if (error instanceof APIError) return { steps, error };
      throw error;
    }
    const message = completion.choices[0]!.message;
    const call = message.tool_calls![0]!;
    exchanges.push({ role: 'assistant', content: null, tool_calls: message.tool_calls }, { role: 'tool', tool_call_id: call.id, content: 'pending' });
    if (window !== undefined) exchanges = exchanges.slice(-2 * window);
  }
  throw new Error('the breaker never stopped the agent');
}

async function admin(path: string, key = environment.ADMIN_KEY, body?: unknown) {
  const response = await fetch(`${gateway.url}/admin${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() as any };
}

async function ledgerEntries(kind: string) {
  await gateway.stores.ledger.flush();
  return (await gateway.stores.ledger.entries({ kind, limit: 1000 })).map((stored) => stored.entry);
}

describe('the agent-loop breaker', () => {
  it('stops a runaway agent named by its conversation after max_repeated_tool_calls, with the spend, alert, ledger entry and listing', async () => {
    const result = await runawayAgent(client(environment.KEY_AGENT));
    // The 6th step carries the 5th call of lookup_claim with the same arguments: 4 allowed, the 5th trips.
    expect(result.steps).toBe(5);
    expect(upstream.bill.requests).toBe(5);
    expect(result.error.status).toBe(403);
    expect(result.error.code).toBe('agent_session_suspended');
    expect(result.error.message).toMatch(/max_repeated_tool_calls: the tool "lookup_claim" was called 5 times with the same arguments, over the limit of 4/);
    expect(result.error.message).toMatch(/count 5, limit 4/);

    // Every further request of the conversation is refused; another conversation of the same key is not.
    const again = await runawayAgent(client(environment.KEY_AGENT));
    expect(again.steps).toBe(0);
    expect(again.error.code).toBe('agent_session_suspended');
    const other = await client(environment.KEY_AGENT).chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'A different task.' }] });
    expect(other.choices[0]!.message.content).toContain('A different task.');
    // The same conversation from another end user is another session.
    const otherUser = await client(environment.KEY_AGENT, { 'x-covenant-user': 'bob' }).chat.completions.create({
      model: 'fast', messages: [{ role: 'system', content: 'You are a claims agent.' }, { role: 'user', content: 'Check claim 42 until it is approved.' }],
    });
    expect(otherUser.choices).toHaveLength(1);

    // What it was allowed to spend: the provider's bill for the five steps, each on the ledger as allowed.
    const inferences = await ledgerEntries('inference');
    const allowed = inferences.filter((entry) => (entry.decision as { outcome: string }).outcome === 'allowed' && entry.key === 'agent-bot');
    expect(allowed).toHaveLength(7);
    expect(upstream.bill.requests).toBe(7);
    expect(allowed.reduce((sum, entry) => sum + (entry.cost_usd_micros as number), 0)).toBe(upstream.bill.costMicros);
    expect(upstream.bill.costMicros).toBeGreaterThan(0);
    const refused = inferences.filter((entry) => (entry.decision as { reason?: string }).reason === 'agent_session_suspended');
    expect(refused.map((entry) => (entry.decision as { policy: string }).policy)).toEqual(['agent', 'agent']);

    const [suspended] = await ledgerEntries('session.suspended');
    expect(suspended).toMatchObject({ department: 'claims', key: 'agent-bot', policy: 'max_repeated_tool_calls', count: 5, limit: 4, steps: 5, session_header: null });
    const session = suspended!.session as string;
    expect(result.error.message).toContain(session);

    await gateway.close();
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ event: 'session.suspended', session, policy: 'max_repeated_tool_calls', count: 5, limit: 4, department: 'claims', key: 'agent-bot' });
  });

  it('lists suspensions per department and lets only a person with write access resume one, via the API and the CLI', async () => {
    const result = await runawayAgent(client(environment.KEY_AGENT, { 'x-covenant-session': 'claims-run-7' }), 1);
    // The agent resends only its latest exchange: the calls are still counted across its steps.
    expect(result.steps).toBe(5);
    const listed = await admin('/sessions');
    expect(listed.body.data).toHaveLength(1);
    const entry = listed.body.data[0];
    expect(entry).toMatchObject({ label: 'claims-run-7', department: 'claims', key: 'agent-bot', policy: 'max_repeated_tool_calls', status: 'suspended' });
    expect((await admin('/sessions', environment.CLAIMS_ADMIN)).body.data).toHaveLength(1);
    expect((await admin('/sessions', environment.LEGAL_ADMIN)).body.data).toHaveLength(0);

    const session = entry.session as string;
    expect((await admin(`/sessions/${session}/resume`, environment.AUDITOR, { reason: 'x' })).status).toBe(403);
    expect((await admin(`/sessions/${session}/resume`, environment.LEGAL_ADMIN, { reason: 'x' })).status).toBe(403);
    expect((await admin(`/sessions/${session}/resume`, environment.CLAIMS_ADMIN, {})).status).toBe(400);
    const resumed = await admin(`/sessions/${session}/resume`, environment.CLAIMS_ADMIN, { reason: 'tool fixed' });
    expect(resumed.status).toBe(200);
    expect(resumed.body).toMatchObject({ session, status: 'resumed', resumed_by: 'claims-lead', reason: 'tool fixed' });
    expect((await admin(`/sessions/${session}/resume`, environment.CLAIMS_ADMIN, { reason: 'again' })).status).toBe(404);
    expect(await ledgerEntries('session.resumed')).toEqual([expect.objectContaining({ session, by: 'claims-lead', reason: 'tool fixed', department: 'claims' })]);

    // Its counters started over: the same loop runs five more steps, then is suspended again; the CLI lists and resumes it.
    const second = await runawayAgent(client(environment.KEY_AGENT, { 'x-covenant-session': 'claims-run-7' }), 1);
    expect(second.steps).toBe(5);
    const env = { ...process.env, COVENANT_ADMIN_KEY: environment.ADMIN_KEY };
    const table = await run(process.execPath, [bin, 'sessions', 'list', '--url', gateway.url], { env });
    expect(table.stdout).toContain(session);
    expect(table.stdout).toContain('max_repeated_tool_calls');
    const missingReason = await run(process.execPath, [bin, 'sessions', 'resume', session, '--url', gateway.url], { env }).catch((error) => error);
    expect(missingReason.code).toBe(2);
    const cli = await run(process.execPath, [bin, 'sessions', 'resume', session, '--url', gateway.url, '--reason', 'second fix'], { env });
    expect(cli.stdout).toContain(`Resumed ${session}`);
    const history = await run(process.execPath, [bin, 'sessions', 'list', '--all', '--json', '--url', gateway.url], { env });
    expect(JSON.parse(history.stdout).map((line: { reason: string | null }) => line.reason)).toEqual(['second fix', 'tool fixed']);
    const after = await client(environment.KEY_AGENT, { 'x-covenant-session': 'claims-run-7' }).chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'go on' }] });
    expect(after.choices).toHaveLength(1);
  });

  it('stops the same request body sent again and again (max_identical_requests)', async () => {
    const openai = client(environment.KEY_AGENT, { 'x-covenant-session': 'retry-loop' });
    const body = { model: 'fast', messages: [{ role: 'user' as const, content: 'Same again.' }] };
    for (let index = 0; index < 3; index += 1) await openai.chat.completions.create(body);
    const error = await openai.chat.completions.create(body).catch((caught) => caught as APIError);
    expect(error.status).toBe(403);
    expect(error.message).toMatch(/max_identical_requests: the same request body was sent 4 times within 600 s, over the limit of 3/);
    expect(upstream.bill.requests).toBe(3);
  });

  it('admits exactly max_steps of concurrent steps of one session', async () => {
    const openai = client(environment.KEY_PARALLEL, { 'x-covenant-session': 'fan-out' });
    const outcomes = await Promise.all(Array.from({ length: 30 }, (_, index) => openai.chat.completions.create({
      model: 'fast', messages: [{ role: 'user', content: `part ${index}` }], tools, tool_choice: 'required',
    }).then(() => 200, (error: APIError) => error.status)));
    expect(outcomes.filter((status) => status === 200)).toHaveLength(10);
    expect(outcomes.filter((status) => status === 403)).toHaveLength(20);
    expect(upstream.bill.requests).toBe(10);
    expect(await ledgerEntries('session.suspended')).toEqual([expect.objectContaining({ policy: 'max_steps', count: 11, limit: 10, steps: 10, session_header: 'fan-out' })]);
  });

  it('counts the steps of an Anthropic Messages client by the same session header', async () => {
    const anthropic = new Anthropic({ baseURL: gateway.url, apiKey: environment.KEY_PARALLEL, maxRetries: 0, defaultHeaders: { 'x-covenant-session': 'claude-run' } });
    for (let index = 0; index < 10; index += 1) {
      await anthropic.messages.create({ model: 'fast', max_tokens: 20, messages: [{ role: 'user', content: `step ${index}` }] });
    }
    const error = await anthropic.messages.create({ model: 'fast', max_tokens: 20, messages: [{ role: 'user', content: 'one more' }] }).catch((caught) => caught as InstanceType<typeof Anthropic.APIError>);
    expect(error.status).toBe(403);
    expect(JSON.stringify(error.error)).toContain('agent_session_suspended');
    expect(error.message).toMatch(/max_steps: step 11 is over the limit of 10 steps/);
  });

  it('lists a suspension in GET /admin/alerts with its webhook delivery, to its own department only', async () => {
    const result = await runawayAgent(client(environment.KEY_PARALLEL, { 'x-covenant-session': 'alerted' }));
    expect(result.error.status).toBe(403);
    // The webhook is delivered after the refusal: wait for the hook to receive it, then for the store to record it.
    let entry: Record<string, unknown> | undefined;
    for (let tries = 0; tries < 100 && entry?.status !== 'delivered'; tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      entry = (await admin('/alerts')).body.data.find((alert: { kind: string }) => alert.kind === 'session_suspended');
    }
    expect(entry).toMatchObject({
      kind: 'session_suspended', label: 'alerted', department: 'claims', policy: 'max_steps', count: 11, limit: 10,
      status: 'delivered', delivered: true, attempts: 1, last_error: null,
    });
    expect(typeof entry!.delivered_at).toBe('string');
    expect(alerts.some((alert) => alert.event === 'session.suspended')).toBe(true);
    expect((await admin('/alerts', environment.CLAIMS_ADMIN)).body.data.filter((alert: { kind: string }) => alert.kind === 'session_suspended')).toHaveLength(1);
    expect((await admin('/alerts', environment.LEGAL_ADMIN)).body.data).toEqual([]);
    expect((await admin('/alerts?limit=1')).body.data).toHaveLength(1);
  });

  it('keeps a suspended session suspended after the gateway restarts', async () => {
    const openai = client(environment.KEY_PARALLEL, { 'x-covenant-session': 'survivor' });
    for (let index = 0; index < 10; index += 1) await openai.chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: `step ${index}` }] });
    await expect(openai.chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'one more' }] })).rejects.toThrow(/max_steps/);
    await gateway.close();
    const restarted = await startApp({ configFile: join(gateway.directory, 'covenant.yaml'), environment, host: '127.0.0.1', port: 0 });
    try {
      const again = new OpenAI({ apiKey: environment.KEY_PARALLEL, baseURL: `${restarted.url}/v1`, maxRetries: 0, defaultHeaders: { 'x-covenant-session': 'survivor' } });
      const error = await again.chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'after restart' }] }).catch((caught) => caught as APIError);
      expect(error.status).toBe(403);
      expect(error.message).toMatch(/suspended by max_steps: step 11 is over the limit of 10 steps/);
      const fresh = await again.chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'new session' }] }, { headers: { 'x-covenant-session': 'newcomer' } });
      expect(fresh.choices).toHaveLength(1);
    } finally {
      await restarted.close();
    }
  });

  it('never lets concurrent steps of one session spend past max_session_usd', async () => {
    const openai = client(environment.KEY_SPEND, { 'x-covenant-session': 'spendy' });
    const outcomes = await Promise.all(Array.from({ length: 40 }, (_, index) => openai.chat.completions.create({
      model: 'fast', max_tokens: 20, messages: [{ role: 'user', content: `spend ${index}` }],
    }).then(() => 200, (error: APIError) => error.status)));
    expect(outcomes.filter((status) => status === 200).length).toBeGreaterThan(2);
    expect(outcomes.filter((status) => status === 403).length).toBeGreaterThan(0);
    // The provider's own bill for the session stays within its cap.
    expect(upstream.bill.costMicros).toBeLessThanOrEqual(4_000);
    const [suspended] = await ledgerEntries('session.suspended');
    expect(suspended).toMatchObject({ policy: 'max_session_usd', limit: 4_000, key: 'spender' });
    expect(suspended!.message).toMatch(/max_session_usd: the session has spent \$/);
    const refused = await openai.chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'more' }] }).catch((error) => error as APIError);
    expect(refused.message).toMatch(/spent and reserved \$0\.00[0-9]+, limit \$0\.004/);
  });

  it('shortens a step the session can only partly afford instead of refusing it', async () => {
    const openai = client(environment.KEY_SPEND, { 'x-covenant-session': 'short' });
    // No max_tokens: the model's 4096 would cost far more than the session's $0.004, so max_tokens is lowered.
    const response = await openai.chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'Tell me everything.' }] }).withResponse();
    const allowed = Number(response.response.headers.get('x-covenant-max-tokens'));
    expect(allowed).toBeGreaterThan(16);
    expect(allowed).toBeLessThan(4_000 / 30);
    expect(upstream.requests.at(-1)!.body.max_tokens).toBe(allowed);
  });

  it('leaves normal traffic untouched: no session state where no policy applies, and steps under every limit pass', async () => {
    const plain = client(environment.KEY_PLAIN, { 'x-covenant-session': 'anything' });
    for (let index = 0; index < 8; index += 1) {
      const response = await plain.chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'Same again.' }], tools, tool_choice: 'required' }).withResponse();
      expect(response.response.headers.get('x-covenant-session-id')).toBeNull();
    }
    const result = await runawayAgent(client(environment.KEY_PLAIN), undefined).catch((error: Error) => error);
    expect((result as Error).message).toBe('the breaker never stopped the agent');
    const agent = client(environment.KEY_AGENT);
    for (let index = 0; index < 3; index += 1) {
      const response = await agent.chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: `question ${index}` }] }).withResponse();
      expect(response.response.headers.get('x-covenant-session-id')).toMatch(/^ses_[0-9a-f]{24}$/);
    }
    expect((await admin('/sessions')).body.data).toEqual([]);
    expect(await ledgerEntries('session.suspended')).toEqual([]);
  });
});

describe('agent policy config', () => {
  const base = (agent: string) => `
org:
  name: acme
  departments:
    - name: claims
      agent: ${agent}
`;
  it('resolves durations and dollars, and defaults the window, idle time and webhook', () => {
    const resolved = resolveConfig(parseConfigText(base('{ max_session_usd: 2.5, max_duration: 2h }').replace('departments:', 'alerts: { thresholds: [0.5], webhook: https://hooks.example/a }\n  departments:'), '<test>'), {});
    expect(resolved.departments.get('claims')!.agent).toEqual({
      maxSteps: null, maxSessionMicros: 2_500_000, maxIdenticalRequests: null, identicalWindowMs: 300_000, maxRepeatedToolCalls: null,
      maxDurationMs: 7_200_000, idleMs: 3_600_000, webhook: 'https://hooks.example/a',
    });
  });

  it('rejects an unknown field, a malformed duration and a policy without a limit, naming where', () => {
    expect(() => parseConfigText(base('{ max_steps: 5, max_loops: 3 }'), '<test>')).toThrow(/agent.*max_loops|max_loops/);
    expect(() => parseConfigText(base('{ max_duration: 30 minutes }'), '<test>')).toThrow(/<test>:6:\d+: org\.departments\[0\]\.agent\.max_duration: .*duration like 45s/);
    expect(() => parseConfigText(base('{ identical_window: 5m }'), '<test>')).toThrow(/at least one of max_steps/);
  });
});
