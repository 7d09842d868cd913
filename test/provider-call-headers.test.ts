// A provider call's own headers (the trace context) reach each provider's API, JSON and stream, beside the provider's own headers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatRequest, EmbeddingRequest } from '../src/core/chat-types.js';
import { createProvider } from '../src/providers/registry.js';
import type { ProviderAdapter } from '../src/providers/types.js';
import { startFakeAnthropic, type FakeAnthropic } from './fakes/anthropic.js';
import { startFakeGemini, type FakeGemini } from './fakes/gemini.js';
import { startFakeOpenAI, type FakeOpenAI } from './fakes/openai.js';

const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

let openai: FakeOpenAI;
let anthropic: FakeAnthropic;
let gemini: FakeGemini;

beforeAll(async () => {
  openai = await startFakeOpenAI({ apiKey: 'sk-openai' });
  anthropic = await startFakeAnthropic({ apiKey: 'sk-anthropic' });
  gemini = await startFakeGemini({ apiKey: 'sk-gemini' });
});

afterAll(async () => {
  await Promise.all([openai?.close(), anthropic?.close(), gemini?.close()]);
});

async function drain(adapter: ProviderAdapter, request: ChatRequest, headers?: Record<string, string>): Promise<void> {
  const stream = await adapter.chatStream({ request: { ...request, stream: true }, signal: new AbortController().signal, headers });
  for await (const _batch of stream.batches) { /* read to the end */ }
}

const cases: { name: string; adapter: () => ProviderAdapter; model: string; embedModel?: string; requests: () => { headers: Record<string, unknown> }[]; credential: [string, string] }[] = [
  {
    name: 'openai', model: 'gpt-4o-mini-2024-07-18', embedModel: 'text-embedding-3-small', credential: ['authorization', 'Bearer sk-openai'],
    adapter: () => createProvider({ name: 'openai', type: 'openai', baseUrl: openai.url, apiKey: 'sk-openai', timeoutMs: 5000 }),
    requests: () => openai.requests,
  },
  {
    name: 'anthropic', model: 'claude-sonnet-4-20250514', credential: ['x-api-key', 'sk-anthropic'],
    adapter: () => createProvider({ name: 'anthropic', type: 'anthropic', baseUrl: anthropic.url, apiKey: 'sk-anthropic', timeoutMs: 5000 }),
    requests: () => anthropic.requests,
  },
  {
    name: 'gemini', model: 'gemini-2.0-flash', embedModel: 'text-embedding-004', credential: ['x-goog-api-key', 'sk-gemini'],
    adapter: () => createProvider({ name: 'gemini', type: 'gemini', baseUrl: gemini.url, apiKey: 'sk-gemini', timeoutMs: 5000 }),
    requests: () => gemini.requests,
  },
];

describe.each(cases)('$name', ({ adapter: make, model, embedModel, requests, credential }) => {
  it('sends the call\'s headers with every call, and none when the call has none', async () => {
    const adapter = make();
    const before = requests().length;
    const request: ChatRequest = { model, messages: [{ role: 'user', content: 'hello' }], max_tokens: 4 };
    const signal = new AbortController().signal;
    await adapter.chat({ request, signal, headers: { traceparent } });
    await drain(adapter, request, { traceparent });
    if (embedModel && adapter.embed) {
      const embedding: EmbeddingRequest = { model: embedModel, input: 'hello' };
      await adapter.embed({ request: embedding, signal, headers: { traceparent } });
    }
    await adapter.chat({ request, signal });
    const sent = requests().slice(before);
    expect(sent.length).toBe(embedModel ? 4 : 3);
    for (const call of sent.slice(0, -1)) {
      expect(call.headers.traceparent).toBe(traceparent);
      expect(call.headers[credential[0]]).toBe(credential[1]);
    }
    expect(sent.at(-1)!.headers.traceparent).toBeUndefined();
    expect(sent.at(-1)!.headers[credential[0]]).toBe(credential[1]);
  });
});
