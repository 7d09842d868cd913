// OpenTelemetry: a local OTLP/HTTP receiver gets one GenAI span per request; requests are unaffected when the collector is down or hangs.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from './fakes/openai.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const userKey = 'sk-test-user-1';
const otherKey = 'sk-test-other-1';
const adminKey = 'sk-test-admin-1';

/** An OTLP attribute value as the JSON encoding writes it. */
interface AnyValue { stringValue?: string; intValue?: number | string; doubleValue?: number; boolValue?: boolean; arrayValue?: { values: AnyValue[] } }
interface OtlpSpan { traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number; attributes: { key: string; value: AnyValue }[]; status?: { code?: number } }

function valueOf(value: AnyValue): unknown {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.arrayValue !== undefined) return value.arrayValue.values.map(valueOf);
  return undefined;
}

interface ReceivedSpan { name: string; traceId: string; spanId: string; parentSpanId: string | undefined; kind: number; status: number; service: unknown; attributes: Record<string, unknown> }

/** A collector: decodes OTLP/HTTP JSON trace exports; `mode` makes it answer, hang, or (closed) be down. */
class Receiver {
  readonly spans: ReceivedSpan[] = [];
  readonly contentTypes: string[] = [];
  mode: 'answer' | 'hang' = 'answer';
  private readonly server: Server;
  private readonly hanging: ServerResponse[] = [];

  constructor() {
    this.server = createServer((request: IncomingMessage, response: ServerResponse) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        if (this.mode === 'hang') {
          this.hanging.push(response);
          return;
        }
        this.contentTypes.push(String(request.headers['content-type']));
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          resourceSpans: { resource: { attributes: { key: string; value: AnyValue }[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
        };
        for (const resource of body.resourceSpans) {
          const service = valueOf(resource.resource.attributes.find((attribute) => attribute.key === 'service.name')!.value);
          for (const scope of resource.scopeSpans) {
            for (const span of scope.spans) {
              this.spans.push({
                name: span.name, traceId: span.traceId, spanId: span.spanId, parentSpanId: span.parentSpanId || undefined, kind: span.kind,
                status: span.status?.code ?? 0, service,
                attributes: Object.fromEntries(span.attributes.map((attribute) => [attribute.key, valueOf(attribute.value)])),
              });
            }
          }
        }
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end('{}');
      });
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async waitFor(count: number, timeoutMs = 5000): Promise<ReceivedSpan[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.spans.length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    return this.spans;
  }

  async close(): Promise<void> {
    for (const response of this.hanging) response.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A port nothing listens on: open one and close it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function config(upstream: FakeOpenAI, telemetry: string, retention = 'none'): string {
  return `
store: sqlite:{{DB}}
admin_keys: [ { name: ops, key_env: ADMIN_KEY } ]
providers:
  - { name: openai, type: openai, api_key_env: UPSTREAM_KEY, base_url: ${upstream.url} }
models:
  - { alias: fast, provider: openai, version: gpt-4o-mini-2024-07-18 }
  - { alias: embed, provider: openai, version: text-embedding-3-small }
org:
  name: acme
  departments:
    - name: claims
      budgets: [ { usd: 5, period: month } ]
      keys: [ { name: triage-bot, key_env: USER_KEY } ]
    - name: research
      retention: { content: ${retention} }
      keys: [ { name: lab-bot, key_env: OTHER_KEY, models: [embed] } ]
${telemetry}`;
}

const environment = { ADMIN_KEY: adminKey, USER_KEY: userKey, OTHER_KEY: otherKey, UPSTREAM_KEY: 'sk-upstream' };

let upstream: FakeOpenAI;
let gateway: TestGateway | undefined;
let receiver: Receiver | undefined;

beforeAll(async () => {
  upstream = await startFakeOpenAI({ apiKey: 'sk-upstream' });
});

afterEach(async () => {
  await gateway?.stop();
  gateway = undefined;
  await receiver?.close();
  receiver = undefined;
  upstream.setBehaviour({});
});

afterAll(async () => {
  await upstream?.close();
});

const clientTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
const clientSpan = '00f067aa0ba902b7';

describe('spans', () => {
  it('exports one GenAI span per request, a child of the client\'s trace, and passes its context upstream', async () => {
    receiver = new Receiver();
    const endpoint = await receiver.listen();
    gateway = await startTestGateway(config(upstream, `telemetry: { otlp_endpoint: '${endpoint}', service_name: covenant-test, export_interval_ms: 50 }`), environment);
    upstream.reset();
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: userKey, maxRetries: 0, defaultHeaders: { traceparent: `00-${clientTrace}-${clientSpan}-01` } });
    const { data, response } = await client.chat.completions
      .create({ model: 'fast', messages: [{ role: 'user', content: 'Say hello' }], max_tokens: 5, temperature: 0.2 })
      .withResponse();
    const stream = await client.chat.completions.create({ model: 'fast', stream: true, messages: [{ role: 'user', content: 'stream please' }], max_tokens: 4 });
    for await (const _chunk of stream) { /* read to the end */ }
    const spans = await receiver.waitFor(2);
    expect(spans).toHaveLength(2);
    expect(receiver.contentTypes[0]).toMatch(/application\/json/);

    const [json, streamed] = spans;
    expect(json).toMatchObject({ name: 'chat fast', traceId: clientTrace, parentSpanId: clientSpan, kind: 3, service: 'covenant-test' });
    expect(json!.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'fast',
      'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
      'gen_ai.usage.input_tokens': data.usage!.prompt_tokens,
      'gen_ai.usage.output_tokens': 5,
      'gen_ai.request.max_tokens': 5,
      'gen_ai.request.temperature': 0.2,
      'gen_ai.response.finish_reasons': ['length'],
      'covenant.department': 'claims',
      'covenant.key': 'triage-bot',
      'covenant.request_id': response.headers.get('x-covenant-request-id'),
      'covenant.cost_usd': Number(response.headers.get('x-covenant-cost-usd')),
      'covenant.budget.decision': 'reserved',
      'covenant.model.version': 'gpt-4o-mini-2024-07-18',
      'http.response.status_code': 200,
    });
    expect(json!.attributes['gen_ai.server.time_to_first_token']).toBeGreaterThan(0);
    // Content never goes into a span of a department that keeps none.
    expect(Object.keys(json!.attributes).filter((name) => name.includes('messages') || name.includes('body'))).toEqual([]);

    // The ledger sequence number on the span is the request's entry.
    const seq = json!.attributes['covenant.ledger.seq'] as number;
    const entry = await (await fetch(`${gateway.url}/admin/audit/entries?from=${seq}&limit=1`, { headers: { authorization: `Bearer ${adminKey}` } })).json();
    expect(JSON.stringify(entry)).toContain(response.headers.get('x-covenant-request-id')!);

    expect(streamed).toMatchObject({ traceId: clientTrace, parentSpanId: clientSpan });
    expect(streamed!.attributes).toMatchObject({ 'covenant.stream': true, 'gen_ai.usage.output_tokens': 4 });
    expect(streamed!.attributes['gen_ai.server.time_to_first_token']).toBeGreaterThan(0);
    expect(streamed!.attributes['covenant.ledger.seq']).toBe(seq + 1);

    // Upstream, each call carries the request's span as its parent, in the client's trace.
    const sent = upstream.requests.map((request) => String(request.headers.traceparent));
    expect(sent).toEqual([`00-${clientTrace}-${json!.spanId}-01`, `00-${clientTrace}-${streamed!.spanId}-01`]);
  });

  it('records refusals and failures, and keeps content only where the department retains it', async () => {
    receiver = new Receiver();
    const endpoint = await receiver.listen();
    gateway = await startTestGateway(config(upstream, `telemetry: { otlp_endpoint: '${endpoint}/v1/traces', export_interval_ms: 50 }`, 'full'), environment);
    const other = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: otherKey, maxRetries: 0 });
    const user = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: userKey, maxRetries: 0 });
    // lab-bot may not use `fast`: refused by the access stage.
    await expect(other.chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({ status: 403 });
    await other.embeddings.create({ model: 'embed', input: 'secret words' });
    upstream.setBehaviour({ fail: { status: 500, message: 'boom' } });
    await expect(user.chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({ status: 502 });
    const spans = await receiver.waitFor(3);
    expect(spans).toHaveLength(3);
    const [refused, embedded, failed] = spans;
    expect(refused!.attributes).toMatchObject({ 'error.type': 'model_not_allowed', 'covenant.refused_by': 'access', 'covenant.key': 'lab-bot' });
    expect(refused!.status).toBe(0);
    expect(refused!.attributes['covenant.ledger.seq']).toBeTypeOf('number');
    expect(embedded).toMatchObject({ name: 'embeddings embed', service: 'covenant' });
    expect(embedded!.attributes).toMatchObject({ 'gen_ai.operation.name': 'embeddings', 'covenant.budget.decision': 'none' });
    // research keeps content in full: the span carries it too.
    expect(embedded!.attributes['gen_ai.input.messages']).toBe(JSON.stringify('secret words'));
    expect(embedded!.attributes['covenant.response.body']).toContain('"embedding"');
    expect(failed!.attributes).toMatchObject({ 'error.type': 'upstream_error', 'http.response.status_code': 502 });
    expect(failed!.status).toBe(2);
    expect(Object.keys(failed!.attributes).filter((name) => name.includes('messages') || name.includes('body'))).toEqual([]);
  });

  it('follows the client\'s sampling decision and samples its own traces at sample_ratio', async () => {
    receiver = new Receiver();
    const endpoint = await receiver.listen();
    gateway = await startTestGateway(config(upstream, `telemetry: { otlp_endpoint: '${endpoint}', sample_ratio: 0, export_interval_ms: 50 }`), environment);
    upstream.reset();
    const post = (headers: Record<string, string>) => fetch(`${gateway!.url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${userKey}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ model: 'fast', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }),
    });
    expect((await post({})).status).toBe(200);
    expect((await post({ traceparent: `00-${clientTrace}-${clientSpan}-01` })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Only the trace the client sampled is exported; the unsampled one still carries its context upstream.
    expect(receiver.spans.map((span) => span.traceId)).toEqual([clientTrace]);
    expect(String(upstream.requests[0]!.headers.traceparent)).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
  });
});

describe('a slow or absent collector', () => {
  const ask = async (url: string) => {
    const started = performance.now();
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${userKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'fast', messages: [{ role: 'user', content: 'the same question' }], max_tokens: 3 }),
    });
    const body = await response.json() as { choices: { message: { content: string } }[] };
    return { status: response.status, text: body.choices[0]!.message.content, elapsed: performance.now() - started };
  };

  it('answers the same, without waiting, when the collector is down', async () => {
    gateway = await startTestGateway(config(upstream, `telemetry: { otlp_endpoint: 'http://127.0.0.1:${await closedPort()}', export_interval_ms: 10, export_timeout_ms: 500 }`), environment);
    upstream.setBehaviour({ latencyMs: 50 });
    const answers = [];
    for (let index = 0; index < 5; index++) answers.push(await ask(gateway.url));
    // A refused connection fails at once, so time says nothing here (the hung collector below checks waiting): the
    // answers are the same, and every span is counted as dropped.
    expect(answers.every((answer) => answer.status === 200 && answer.text === answers[0]!.text)).toBe(true);
    const deadline = Date.now() + 5000;
    let metrics = '';
    while (Date.now() < deadline && !/covenant_telemetry_spans_dropped_total\{reason="export_failed"\} [1-9]/.test(metrics)) {
      metrics = await (await fetch(`${gateway.url}/metrics`)).text();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(metrics).toMatch(/covenant_telemetry_spans_dropped_total\{reason="export_failed"\} [1-9]/);
  });

  it('answers without waiting when the collector hangs, and counts the spans its full queue drops', async () => {
    receiver = new Receiver();
    receiver.mode = 'hang';
    const endpoint = await receiver.listen();
    gateway = await startTestGateway(config(upstream, `telemetry: { otlp_endpoint: '${endpoint}', max_queue_size: 2, export_interval_ms: 10, export_timeout_ms: 60000 }`), environment);
    upstream.setBehaviour({ latencyMs: 50 });
    const answers = [];
    for (let index = 0; index < 8; index++) answers.push(await ask(gateway.url));
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      // A request that waited on the hung export would take its whole timeout (a minute); a busy machine takes seconds.
      expect(answer.elapsed).toBeLessThan(10_000);
    }
    // One batch (at most two spans) hangs in export and two wait in the queue: at least four of eight were dropped.
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    const dropped = Number(/covenant_telemetry_spans_dropped_total\{reason="queue_full"\} (\d+)/.exec(metrics)?.[1]);
    expect(dropped).toBeGreaterThanOrEqual(4);
    // Stopping the gateway does not wait on the hung export for long.
    const stopping = performance.now();
    await gateway.stop();
    gateway = undefined;
    expect(performance.now() - stopping).toBeLessThan(5000);
  });
});

describe('off by default', () => {
  it('has no telemetry stage and sends no trace context upstream', async () => {
    gateway = await startTestGateway(config(upstream, ''), environment);
    upstream.reset();
    expect(gateway.gateway.config.telemetry).toBeNull();
    const answer = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${userKey}`, 'content-type': 'application/json', traceparent: `00-${clientTrace}-${clientSpan}-01` },
      body: JSON.stringify({ model: 'fast', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }),
    });
    expect(answer.status).toBe(200);
    expect(upstream.requests[0]!.headers.traceparent).toBeUndefined();
  });

  it('rejects unknown telemetry fields', async () => {
    await expect(startTestGateway(config(upstream, `telemetry: { otlp_endpoint: 'http://127.0.0.1:4318', sampling: 1 }`), environment)).rejects.toThrow(/sampling/);
  });
});
