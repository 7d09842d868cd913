// The mock provider's run-time behaviour: fingerprint, model id, answer variant, latency and length switched without a restart.
import { afterEach, describe, expect, it } from 'vitest';
import { setMockBehaviour } from '../src/providers/mock/behaviour.js';
import { createMockProvider } from '../src/providers/mock/index.js';
import type { ChatRequest } from '../src/core/chat-types.js';

const provider = createMockProvider({ name: 'switchable', type: 'mock', timeoutMs: 0, mock: { latencyMs: 0, outputTokens: 12, tokenDelayMs: 0 } });
const request = (model = 'mock-1'): ChatRequest => ({ model, messages: [{ role: 'user', content: 'alpha beta gamma delta' }] });
const call = (model?: string) => provider.chat({ request: request(model), signal: new AbortController().signal });

afterEach(() => { setMockBehaviour('switchable', null); });

describe('the switchable mock', () => {
  it('reports the configured identity until changed, then the new fingerprint and model id', async () => {
    const before = await call();
    expect(before.response).toMatchObject({ model: 'mock-1', system_fingerprint: 'fp_mock' });
    setMockBehaviour('switchable', { fingerprint: 'fp_new', model: 'mock-1-quantized' });
    const after = await call();
    expect(after.response).toMatchObject({ model: 'mock-1-quantized', system_fingerprint: 'fp_new' });
    // The same change reaches streams, from their first chunk.
    const stream = await provider.chatStream({ request: { ...request(), stream: true }, signal: new AbortController().signal });
    for await (const batch of stream.batches) {
      expect(batch[0]).toMatchObject({ model: 'mock-1-quantized', system_fingerprint: 'fp_new' });
      break;
    }
  });

  it('changes only the named version when one is given', async () => {
    setMockBehaviour('switchable', { fingerprint: 'fp_rev2', version: 'mock-2' });
    expect((await call('mock-1')).response.system_fingerprint).toBe('fp_mock');
    expect((await call('mock-2')).response.system_fingerprint).toBe('fp_rev2');
  });

  it('words the answer differently, refuses, shortens and slows down on request, and resets', async () => {
    const plain = (await call()).response.choices[0]!.message.content as string;
    expect(plain.startsWith('Mock reply:')).toBe(true);
    setMockBehaviour('switchable', { variant: 'alternate' });
    const alternate = (await call()).response.choices[0]!.message.content as string;
    expect(alternate.startsWith('Revised answer:')).toBe(true);
    expect(alternate.split(' ')).toHaveLength(plain.split(' ').length);
    setMockBehaviour('switchable', { variant: 'refusal', outputTokens: 4 });
    const refused = await call();
    expect(refused.response.choices[0]!.message.content).toBe('I cannot help with');
    expect(refused.usage?.outputTokens).toBe(4);
    setMockBehaviour('switchable', { variant: 'default', latencyMs: 150 });
    const started = performance.now();
    await call();
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    setMockBehaviour('switchable', null);
    expect((await call()).response.choices[0]!.message.content).toBe(plain);
  });
});
