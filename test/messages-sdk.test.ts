// The official @anthropic-ai/sdk against a tiny server made of the /v1/messages ingress + the Anthropic adapter + the fake.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import type { CovenantError } from '../src/core/errors.js';
import {
  anthropicRequestToChat, anthropicStreamFormat, chatResponseToAnthropic, covenantErrorToAnthropic, errorStatus,
} from '../src/gateway/messages/index.js';
import { createAnthropicProvider } from '../src/providers/anthropic/index.js';
import { eachOf } from './helpers/batches.js';
import { fakeApiKey, startFakeAnthropic, type FakeAnthropic, type FakeAnthropicOptions } from './fakes/anthropic.js';
import { startFakeOpenAI } from './fakes/openai.js';
import { startTestGateway } from './helpers/gateway.js';

const pinned = 'claude-sonnet-4-20250514';
let fake: FakeAnthropic | undefined;
let server: Server | undefined;

afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  await fake?.close();
  server = undefined;
  fake = undefined;
});

/** What the lead's route will do, in a few lines: translate, call the adapter with the pinned model, translate back. */
async function startGateway(options: FakeAnthropicOptions = {}): Promise<Anthropic> {
  fake = await startFakeAnthropic(options);
  const provider = createAnthropicProvider({ name: 'anthropic', type: 'anthropic', baseUrl: fake.url, apiKey: fakeApiKey, timeoutMs: 5_000 });
  server = createServer(async (request, response) => {
    const parts: Buffer[] = [];
    for await (const part of request) parts.push(part as Buffer);
    try {
      const { request: chat, stream } = anthropicRequestToChat(JSON.parse(Buffer.concat(parts).toString('utf8')));
      const call = { request: { ...chat, model: pinned }, signal: new AbortController().signal };
      if (!stream) {
        const result = await provider.chat(call);
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify(chatResponseToAnthropic(result.response, chat.model, result.usage)));
        return;
      }
      // As the gateway's pipeStream does: headers, the format's frames, its error frame on a failure.
      const result = await provider.chatStream(call);
      const format = anthropicStreamFormat(chat.model, result.usage);
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      try {
        for await (const chunk of eachOf(result.batches)) response.write(format.frame(chunk));
        response.write(format.end());
      } catch (error) {
        response.write(format.errorFrame(error as CovenantError));
      }
      response.end();
    } catch (error) {
      response.writeHead(errorStatus(error), { 'content-type': 'application/json' });
      response.end(JSON.stringify(covenantErrorToAnthropic(error)));
    }
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return new Anthropic({ baseURL: `http://127.0.0.1:${port}`, apiKey: 'covenant-virtual-key', maxRetries: 0 });
}

const weatherTool = {
  name: 'get_weather', description: 'Current weather for a city',
  input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] },
};

describe('@anthropic-ai/sdk through the /v1/messages translation', () => {
  it('messages.create returns the reply, the alias as model, and the usage the provider billed', async () => {
    const client = await startGateway();
    const message = await client.messages.create({ model: 'fast', max_tokens: 100, system: 'Be brief.',
      messages: [{ role: 'user', content: 'hello from the sdk' }] });
    expect(message.content).toEqual([{ type: 'text', text: 'hello from the sdk' }]);
    expect(message.model).toBe('fast');
    expect(message.stop_reason).toBe('end_turn');
    expect(message.usage).toMatchObject({ input_tokens: fake!.bill.inputTokens, output_tokens: fake!.bill.outputTokens });
    expect((fake!.requests[0].body as { model: string }).model).toBe(pinned);
  });

  it('messages.create reports max_tokens when the reply is cut', async () => {
    const client = await startGateway();
    const message = await client.messages.create({ model: 'fast', max_tokens: 2, messages: [{ role: 'user', content: 'a b c d' }] });
    expect(message.stop_reason).toBe('max_tokens');
    expect(message.content).toEqual([{ type: 'text', text: 'a b' }]);
  });

  it('messages.stream emits text events and a final message with usage', async () => {
    const client = await startGateway();
    const stream = client.messages.stream({ model: 'fast', max_tokens: 100, messages: [{ role: 'user', content: 'stream these five words' }] });
    const pieces: string[] = [];
    stream.on('text', (text) => pieces.push(text));
    const final = await stream.finalMessage();
    expect(pieces.join('')).toBe('stream these five words');
    expect(pieces.length).toBeGreaterThan(1);
    expect(final.content).toHaveLength(1);
    expect(final.content[0]).toMatchObject({ type: 'text', text: 'stream these five words' });
    expect(final.stop_reason).toBe('end_turn');
    expect(final.usage).toMatchObject({ input_tokens: 4, output_tokens: 4 });
    expect(final.model).toBe('fast');
  });

  it('completes a tool-use round trip with messages.create', async () => {
    const client = await startGateway();
    const first = await client.messages.create({ model: 'fast', max_tokens: 200, tools: [weatherTool],
      messages: [{ role: 'user', content: 'call get_weather city=Lisbon' }] });
    expect(first.stop_reason).toBe('tool_use');
    const toolUse = first.content.find((block) => block.type === 'tool_use');
    expect(toolUse).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { city: 'Lisbon' } });

    const second = await client.messages.create({ model: 'fast', max_tokens: 200, tools: [weatherTool], messages: [
      { role: 'user', content: 'call get_weather city=Lisbon' },
      { role: 'assistant', content: first.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: (toolUse as { id: string }).id, content: 'sunny 21C' }] },
    ] });
    expect(second.content).toEqual([{ type: 'text', text: 'Tool result: sunny 21C' }]);
    expect(second.stop_reason).toBe('end_turn');
  });

  it('streams a tool call whose input the SDK assembles from input_json_delta', async () => {
    const client = await startGateway();
    const stream = client.messages.stream({ model: 'fast', max_tokens: 200, tools: [weatherTool],
      tool_choice: { type: 'tool', name: 'get_weather' }, messages: [{ role: 'user', content: 'weather please city=Porto' }] });
    const final = await stream.finalMessage();
    expect(final.stop_reason).toBe('tool_use');
    expect(final.content).toHaveLength(1);
    expect(final.content[0]).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { city: 'Porto' } });
  });

  it('gives the SDK a typed 400 for a bad body', async () => {
    const client = await startGateway();
    const error = await client.messages.create({ model: 'fast', messages: [{ role: 'user', content: 'x' }] } as never).catch((caught) => caught);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect(error.status).toBe(400);
    expect(error.error).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens: Field required' } });
  });

  it('gives the SDK a 502 when the provider fails, and an error from the stream when it fails midway', async () => {
    const client = await startGateway({ failWith: { status: 500, message: 'boom', times: 1 }, errorMidStream: 5 });
    const failed = await client.messages.create({ model: 'fast', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }).catch((caught) => caught);
    expect(failed).toBeInstanceOf(Anthropic.APIError);
    expect(failed.status).toBe(502);
    expect(failed.message).toContain('HTTP 500: boom');

    const stream = client.messages.stream({ model: 'fast', max_tokens: 10, messages: [{ role: 'user', content: 'one two three four' }] });
    const midway = await stream.finalMessage().catch((caught) => caught);
    expect(midway).toBeInstanceOf(Anthropic.APIError);
    expect(String(midway.message)).toMatch(/overloaded_error/);
  });
});

describe('@anthropic-ai/sdk through the gateway', () => {
  it('a stream names the same model as the JSON answer: the one the upstream answered with', async () => {
    // Each upstream answers with an id other than the pinned version (a swapped snapshot), so the alias, the pinned
    // version and the upstream's answer are three different names.
    const anthropicUpstream = await startFakeAnthropic({ returnedModels: { [pinned]: 'claude-sonnet-4-20250601' } });
    const openaiUpstream = await startFakeOpenAI({ modelVersions: { 'gpt-4o-mini': 'gpt-4o-mini-2024-07-18' } });
    const gateway = await startTestGateway(`
store: sqlite:{{DB}}
providers:
  - { name: anthropic, type: anthropic, api_key_env: ANTHROPIC_KEY, base_url: ${anthropicUpstream.url} }
  - { name: openai, type: openai, api_key_env: OPENAI_KEY, base_url: ${openaiUpstream.url} }
models:
  - { alias: claude, provider: anthropic, version: ${pinned}, price: { input_per_mtok: 3, output_per_mtok: 15 } }
  - { alias: mini, provider: openai, version: gpt-4o-mini, price: { input_per_mtok: 0.15, output_per_mtok: 0.6 } }
org:
  name: acme
  departments: [ { name: lab, keys: [ { name: tester, key_env: USER_KEY } ] } ]
`, { USER_KEY: 'sk-messages-model', ANTHROPIC_KEY: fakeApiKey, OPENAI_KEY: 'sk-up-openai' });
    try {
      const client = new Anthropic({ baseURL: gateway.url, apiKey: 'sk-messages-model', maxRetries: 0 });
      for (const [alias, answered] of [['claude', 'claude-sonnet-4-20250601'], ['mini', 'gpt-4o-mini-2024-07-18']]) {
        const body = { model: alias!, max_tokens: 50, messages: [{ role: 'user' as const, content: 'which model are you' }] };
        const message = await client.messages.create(body);
        const stream = client.messages.stream(body);
        const started: string[] = [];
        stream.on('streamEvent', (event) => { if (event.type === 'message_start') started.push(event.message.model); });
        const final = await stream.finalMessage();
        expect(message.model).toBe(answered);
        expect(started).toEqual([answered]);
        expect(final.model).toBe(message.model);
      }
    } finally {
      await gateway.stop();
      await Promise.all([anthropicUpstream.close(), openaiUpstream.close()]);
    }
  });
});
