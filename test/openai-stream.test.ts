// The OpenAI adapter's streams against a scripted SSE server: chunk text passed through byte for byte (less the
// `"usage":null` include_usage adds), usage metered whatever the spacing, and garbage or errors mid-stream refused.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatChunk, ChatRequest } from '../src/core/chat-types.js';
import { CovenantError } from '../src/core/errors.js';
import { anthropicStreamFormat } from '../src/gateway/messages/index.js';
import { openAIStreamFormat } from '../src/gateway/streaming.js';
import { createOpenAIProvider } from '../src/providers/openai/index.js';
import { eachOf } from './helpers/batches.js';

const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1700000000, model: 'gpt-4o-mini-2024-07-18', system_fingerprint: 'fp_1' };
const usage = { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 };
const compact = (choices: unknown[], extra: Record<string, unknown> = { usage: null }) => JSON.stringify({ ...base, choices, ...extra });
/** Python's json.dumps spacing, as vLLM and other OpenAI-compatible servers send it. */
const spaced = (value: unknown) => JSON.stringify(value).replace(/":/g, '": ').replace(/,"/g, ', "');

/** Each path's SSE body: the data of each event. */
const scripts: Record<string, string[]> = {
  '/compact/chat/completions': [
    compact([{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]),
    compact([{ index: 0, delta: { content: 'Hel' }, logprobs: null, finish_reason: null }]),
    compact([{ index: 0, delta: { content: 'lo "usage":{}' }, logprobs: null, finish_reason: null }]),
    compact([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]),
    compact([], { usage }),
    '[DONE]',
  ],
  '/spaced/chat/completions': [
    spaced({ ...base, choices: [{ index: 0, delta: { content: 'Hi' }, finish_reason: null }], usage: null }),
    spaced({ ...base, choices: [], usage }),
    '[DONE]',
  ],
  '/garbage/chat/completions': [compact([{ index: 0, delta: { content: 'Hi' }, finish_reason: null }]), '<html>oops</html>', '[DONE]'],
  '/cut/chat/completions': [compact([{ index: 0, delta: { content: 'Hi' }, finish_reason: null }]), '{"id":"chatcmpl-1","choices":[{"delta":{"content":"tru', '[DONE]'],
  '/error/chat/completions': [compact([{ index: 0, delta: { content: 'Hi' }, finish_reason: null }]), JSON.stringify({ error: { message: 'overloaded' } }), '[DONE]'],
};

let server: Server;
let url: string;
beforeAll(async () => {
  server = createServer((request, response) => {
    request.resume();
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    if (request.url === '/lingering/chat/completions') {
      // [DONE], then the body stays open: a keep-alive comment every 50 ms, for 5 s.
      response.write(`data: ${compact([{ index: 0, delta: { content: 'Hi' }, finish_reason: 'stop' }])}\n\ndata: [DONE]\n\n`);
      const timer = setInterval(() => response.write(': still here\n\n'), 50);
      const end = setTimeout(() => { clearInterval(timer); response.end(); }, 5000);
      response.on('close', () => { clearInterval(timer); clearTimeout(end); });
      return;
    }
    for (const data of scripts[request.url ?? ''] ?? []) response.write(`data: ${data}\n\n`);
    response.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => {
  // The lingering answer is still open: end it rather than wait out its 5 s.
  server.closeAllConnections();
  server.close(() => resolve());
}));

const request: ChatRequest = { model: 'gpt-4o-mini-2024-07-18', messages: [{ role: 'user', content: 'hi' }], stream: true };

async function open(path: string) {
  const provider = createOpenAIProvider({ name: 'scripted', type: 'openai', baseUrl: `${url}/${path}`, timeoutMs: 5000 });
  return provider.chatStream({ request, signal: new AbortController().signal });
}

async function collect(path: string, format = openAIStreamFormat(request)) {
  const stream = await open(path);
  let text = '';
  for await (const chunk of eachOf(stream.batches)) text += format.frame(chunk);
  return { text: text + format.end(), usage: stream.usage() };
}

const frames = (datas: string[]) => datas.map((data) => `data: ${data}\n\n`).join('');

describe('OpenAI streams', () => {
  it('passes each chunk\'s text through unchanged to a client that asked for usage, and meters the usage', async () => {
    const { text, usage: metered } = await collect('compact', openAIStreamFormat({ ...request, stream_options: { include_usage: true } }));
    expect(text).toBe(frames(scripts['/compact/chat/completions']));
    expect(metered).toMatchObject({ inputTokens: 9, outputTokens: 2 });
  });

  it('takes out the usage the gateway asked for from a client that did not, leaving the rest of the text as sent', async () => {
    const { text, usage: metered } = await collect('compact');
    const expected = scripts['/compact/chat/completions'].slice(0, 4).map((data) => data.replace(',"usage":null}', '}'));
    expect(text).toBe(frames([...expected, '[DONE]']));
    // The text in a delta that mentions "usage" is content, not a usage member.
    expect(text).toContain('lo \\"usage\\":{}');
    for (const frame of expected) expect(JSON.parse(frame)).not.toHaveProperty('usage');
    expect(metered).toMatchObject({ inputTokens: 9, outputTokens: 2 });
  });

  it('meters and strips usage from a server that spaces its JSON', async () => {
    const { text, usage: metered } = await collect('spaced');
    expect(metered).toMatchObject({ inputTokens: 9, outputTokens: 2 });
    const data = text.split('\n\n').filter(Boolean).map((frame) => frame.slice('data: '.length));
    expect(data).toHaveLength(2);
    expect(JSON.parse(data[0]!)).toEqual({ ...base, choices: [{ index: 0, delta: { content: 'Hi' }, finish_reason: null }] });
    expect(data[1]).toBe('[DONE]');
  });

  it('gives chunks whose fields read as the parsed JSON, for formats that translate them', async () => {
    const stream = await open('compact');
    const chunks: ChatChunk[] = [];
    for await (const chunk of eachOf(stream.batches)) chunks.push(chunk);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? null)).toEqual(['', 'Hel', 'lo "usage":{}', null, null]);
    expect(JSON.parse(JSON.stringify(chunks[1]))).toEqual(JSON.parse(scripts['/compact/chat/completions'][1]!));
    const anthropic = anthropicStreamFormat('fast');
    const text = chunks.map((chunk) => anthropic.frame(chunk)).join('') + anthropic.end();
    expect(text).toContain('"delta":{"type":"text_delta","text":"Hel"}');
    expect(text).toContain('event: message_stop');
  });

  it('ends the stream at [DONE], without waiting for a provider that keeps its body open afterwards', async () => {
    const started = Date.now();
    const { text } = await collect('lingering');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(text).toContain('"content":"Hi"');
  });

  for (const [path, message] of [['garbage', /not JSON: <html>oops/], ['cut', /not JSON: \{"id"/], ['error', /failed mid-stream: overloaded/]] as const) {
    it(`refuses a stream with ${path === 'error' ? 'an error event' : path === 'cut' ? 'an event cut short' : 'an event that is not JSON'} midway`, async () => {
      const stream = await open(path);
      const seen: string[] = [];
      const failure = await (async () => {
        for await (const chunk of eachOf(stream.batches)) seen.push(chunk.choices[0]!.delta.content as string);
      })().then(() => undefined, (error: unknown) => error);
      expect(seen).toEqual(['Hi']);
      expect(failure).toBeInstanceOf(CovenantError);
      expect((failure as CovenantError).code).toBe('upstream_error');
      expect((failure as Error).message).toMatch(message);
    });
  }
});
