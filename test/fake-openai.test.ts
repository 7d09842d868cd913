// The fake OpenAI upstream, checked with the official openai SDK: wire format, token counts OpenAI bills, its own bill, behaviours.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { startFakeOpenAI, type FakeOpenAI } from './fakes/openai.js';
import { countText } from './fakes/tokens.js';

let fake: FakeOpenAI;
let client: OpenAI;

beforeAll(async () => {
  fake = await startFakeOpenAI({
    apiKey: 'sk-test-123',
    prices: { 'gpt-4o-mini': { input_per_mtok: 0.15, output_per_mtok: 0.6 } },
    modelVersions: { 'gpt-4o': 'gpt-4o-2024-08-06' },
  });
  client = new OpenAI({ baseURL: fake.url, apiKey: 'sk-test-123', maxRetries: 0 });
});

afterAll(async () => {
  await fake.close();
});

// OpenAI cookbook "How to count tokens with tiktoken" §6: the API reported 124 (gpt-4o, gpt-4o-mini) and 129 (gpt-4, gpt-3.5-turbo).
const cookbookMessages = [
  { role: 'system', content: 'You are a helpful, pattern-following assistant that translates corporate jargon into plain English.' },
  { role: 'system', name: 'example_user', content: 'New synergies will help drive top-line growth.' },
  { role: 'system', name: 'example_assistant', content: 'Things working well together will increase revenue.' },
  { role: 'system', name: 'example_user', content: "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage." },
  { role: 'system', name: 'example_assistant', content: "Let's talk later when we're less busy about how to do better." },
  { role: 'user', content: "This late pivot means we don't have time to boil the ocean for the client deliverable." },
] as OpenAI.Chat.ChatCompletionMessageParam[];

// Cookbook §7: with this tool the API reported 101 (gpt-4o, gpt-4o-mini) and 105 (gpt-4, gpt-3.5-turbo).
const weatherTool: OpenAI.Chat.ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_current_weather',
    description: 'Get the current weather in a given location',
    parameters: {
      type: 'object',
      properties: {
        location: { type: 'string', description: 'The city and state, e.g. San Francisco, CA' },
        unit: { type: 'string', description: 'The unit of temperature to return', enum: ['celsius', 'fahrenheit'] },
      },
      required: ['location'],
    },
  },
};
const weatherMessages = [
  { role: 'system', content: 'You are a helpful assistant that can answer to questions about the weather.' },
  { role: 'user', content: "What's the weather like in San Francisco?" },
] as OpenAI.Chat.ChatCompletionMessageParam[];

describe('prompt tokens as OpenAI bills them', () => {
  it('counts a single "hello" as 8 tokens: 3 per message + role + content + 3 priming', async () => {
    const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] });
    expect(completion.usage?.prompt_tokens).toBe(8);
  });

  it.each([['gpt-4o-mini', 124], ['gpt-4o', 124], ['gpt-4', 129], ['gpt-3.5-turbo', 129]])('matches the cookbook example for %s (%i)', async (model, expected) => {
    const completion = await client.chat.completions.create({ model, messages: cookbookMessages, max_tokens: 1 });
    expect(completion.usage?.prompt_tokens).toBe(expected);
  });

  it.each([['gpt-4o-mini', 101], ['gpt-4', 105]])('matches the cookbook tools example for %s (%i)', async (model, expected) => {
    const completion = await client.chat.completions.create({ model, messages: weatherMessages, tools: [weatherTool] });
    expect(completion.usage?.prompt_tokens).toBe(expected);
  });
});

describe('chat completions', () => {
  it('answers deterministically from the last user message, echoing the model and a fingerprint', async () => {
    const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello there' }] });
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe('gpt-4o-mini');
    expect(completion.system_fingerprint).toBe('fp_covenant_fake');
    expect(completion.choices[0].message.content?.startsWith('You said: hello there')).toBe(true);
    expect(completion.choices[0].finish_reason).toBe('stop');
    expect(completion.usage?.completion_tokens).toBe(16);
    expect(countText(completion.choices[0].message.content ?? '', 'gpt-4o-mini', 'tiktoken')).toBe(16);
    const again = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello there' }] });
    expect(again.choices[0].message.content).toBe(completion.choices[0].message.content);
  });

  it('reports the pinned version when configured', async () => {
    const completion = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    expect(completion.model).toBe('gpt-4o-2024-08-06');
  });

  it('truncates at max_tokens / max_completion_tokens with finish_reason length', async () => {
    const short = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }], max_tokens: 5 });
    expect(short.choices[0].finish_reason).toBe('length');
    expect(short.usage?.completion_tokens).toBe(5);
    const newer = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }], max_completion_tokens: 3 });
    expect(newer.usage?.completion_tokens).toBe(3);
    expect(newer.choices[0].message.content).toBe('You said: hello'.slice(0, newer.choices[0].message.content!.length));
  });

  it('returns n choices and bills each', async () => {
    const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], n: 3 });
    expect(completion.choices.map((choice) => choice.index)).toEqual([0, 1, 2]);
    expect(completion.choices[1].message.content?.startsWith('[1] You said: hi')).toBe(true);
    expect(completion.usage?.completion_tokens).toBe(48);
  });

  it('honours stop sequences', async () => {
    const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'alpha beta gamma' }], stop: ['beta'] });
    expect(completion.choices[0].message.content).toBe('You said: alpha ');
    expect(completion.choices[0].finish_reason).toBe('stop');
  });

  it('answers JSON mode with a JSON object', async () => {
    const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'give json' }], response_format: { type: 'json_object' } });
    expect(JSON.parse(completion.choices[0].message.content ?? '')).toEqual({ reply: 'give json' });
  });
});

describe('tools', () => {
  it('calls the first tool with arguments built from its schema, then answers the tool result in text', async () => {
    const first = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: weatherMessages, tools: [weatherTool] });
    const call = first.choices[0].message.tool_calls?.[0];
    expect(first.choices[0].finish_reason).toBe('tool_calls');
    expect(call?.type).toBe('function');
    if (call?.type !== 'function') throw new Error('expected a function call');
    expect(call.function.name).toBe('get_current_weather');
    // Strings take the user's text, cut to 40 characters; enums their first value.
    expect(JSON.parse(call.function.arguments)).toEqual({ location: "What's the weather like in San Francisco?".slice(0, 40), unit: 'celsius' });
    const second = await client.chat.completions.create({
      model: 'gpt-4o-mini', tools: [weatherTool],
      messages: [...weatherMessages, first.choices[0].message, { role: 'tool', tool_call_id: call.id, content: '{"temperature": 18}' }],
    });
    expect(second.choices[0].finish_reason).toBe('stop');
    expect(second.choices[0].message.content).toContain('You said:');
  });

  it("answers in text when tool_choice is 'none'", async () => {
    const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: weatherMessages, tools: [weatherTool], tool_choice: 'none' });
    expect(completion.choices[0].message.tool_calls).toBeUndefined();
    expect(completion.choices[0].finish_reason).toBe('stop');
  });

  it('streams a tool call as argument fragments', async () => {
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: weatherMessages, tools: [weatherTool], stream: true });
    let name = '';
    let argumentsText = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta;
      name += delta?.tool_calls?.[0]?.function?.name ?? '';
      argumentsText += delta?.tool_calls?.[0]?.function?.arguments ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(name).toBe('get_current_weather');
    expect(JSON.parse(argumentsText).unit).toBe('celsius');
    expect(finish).toBe('tool_calls');
  });
});

describe('streaming', () => {
  it('streams the same text as the JSON answer, with usage only when include_usage is set', async () => {
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: 'user', content: 'stream me' }];
    const whole = await client.chat.completions.create({ model: 'gpt-4o-mini', messages });
    const plain = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
    let text = '';
    let usageSeen = false;
    for await (const chunk of plain) {
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage) usageSeen = true;
    }
    expect(text).toBe(whole.choices[0].message.content);
    expect(usageSeen).toBe(false);

    const metered = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true, stream_options: { include_usage: true } });
    const chunks = [];
    for await (const chunk of metered) chunks.push(chunk);
    const last = chunks[chunks.length - 1];
    expect(last.choices).toEqual([]);
    expect(last.usage?.prompt_tokens).toBe(whole.usage?.prompt_tokens);
    expect(last.usage?.completion_tokens).toBe(whole.usage?.completion_tokens);
    expect(chunks.slice(0, -1).every((chunk) => chunk.usage === null)).toBe(true);
  });
});

describe('embeddings and models', () => {
  it('returns deterministic unit vectors (base64, as the SDK asks by default, and float)', async () => {
    const result = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['hello', 'world'] });
    expect(result.data).toHaveLength(2);
    expect(result.data[0].embedding).toHaveLength(1536);
    const norm = Math.sqrt(result.data[0].embedding.reduce((sum, value) => sum + value * value, 0));
    expect(norm).toBeCloseTo(1, 5);
    expect(result.usage.prompt_tokens).toBe(2);
    const float = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'hello', encoding_format: 'float', dimensions: 8 });
    expect(float.data[0].embedding).toHaveLength(8);
    const small = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'hello', dimensions: 8 });
    expect(small.data[0].embedding).toEqual(float.data[0].embedding);
  });

  it('lists models', async () => {
    const page = await client.models.list();
    expect(page.data.map((model) => model.id)).toContain('gpt-4o-mini');
  });
});

describe('errors and behaviours', () => {
  it('rejects a wrong key with 401 invalid_api_key', async () => {
    const wrong = new OpenAI({ baseURL: fake.url, apiKey: 'sk-wrong-key', maxRetries: 0 });
    await expect(wrong.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }))
      .rejects.toMatchObject({ status: 401, code: 'invalid_api_key' });
  });

  it('fails with the configured status and OpenAI error JSON, a given number of times', async () => {
    fake.setBehaviour({ fail: { status: 429, message: 'Rate limit reached', code: 'rate_limit_exceeded', times: 1 } });
    await expect(client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }))
      .rejects.toMatchObject({ status: 429, code: 'rate_limit_exceeded', message: expect.stringContaining('Rate limit reached') });
    const after = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(after.choices).toHaveLength(1);
  });

  it('answers garbage, hangs, and cuts streams on demand', async () => {
    fake.setBehaviour({ garbage: true });
    const garbage = await fetch(`${fake.url}/chat/completions`, { method: 'POST', headers: { authorization: 'Bearer sk-test-123' }, body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }) });
    expect(garbage.status).toBe(200);
    await expect(garbage.json()).rejects.toThrow();

    fake.setBehaviour({ hang: true });
    const impatient = new OpenAI({ baseURL: fake.url, apiKey: 'sk-test-123', maxRetries: 0, timeout: 200 });
    await expect(impatient.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })).rejects.toThrow(/timed out/i);

    fake.setBehaviour({ cutStreamAfter: 3 });
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true });
    const read = async () => { let count = 0; for await (const _chunk of stream) count++; return count; };
    await expect(read()).rejects.toThrow();
    fake.setBehaviour({});
  });

  it('waits latencyMs before answering', async () => {
    fake.setBehaviour({ latencyMs: 150 });
    const started = performance.now();
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    fake.setBehaviour({});
  });
});

describe('the bill', () => {
  it('bills cached prompt tokens at the cached price, exactly', async () => {
    const cached = await startFakeOpenAI({
      outputTokens: 5, cachedPromptTokens: 4,
      prices: { 'gpt-4o-mini': { input_per_mtok: '0.15', cached_input_per_mtok: '0.075', output_per_mtok: 0.6 } },
    });
    try {
      const cachedClient = new OpenAI({ baseURL: cached.url, apiKey: 'sk-any', maxRetries: 0 });
      const reply = await cachedClient.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] });
      expect(reply.usage).toMatchObject({ prompt_tokens: 8, completion_tokens: 5, prompt_tokens_details: { cached_tokens: 4 } });
      // 4 x 0.15 + 4 x 0.075 + 5 x 0.6 = 3.9 micro-dollars -> 4 (at the plain input price it would be 4.2 -> 5).
      expect(cached.bill.costMicros).toBe(4);
      await cachedClient.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] });
      // The model's line adds the requests up.
      expect(cached.bill.byModel['gpt-4o-mini']).toMatchObject({ requests: 2, inputTokens: 16, cachedInputTokens: 8, outputTokens: 10, costMicros: 8 });
    } finally {
      await cached.close();
    }
  });

  it('charges each request at the configured price, rounded up to the micro-dollar, and records requests', async () => {
    fake.reset();
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] });
    // 8 prompt tokens at $0.15/M + 16 completion tokens at $0.60/M = 10.8 micro-dollars, rounded up to 11.
    expect(fake.bill.byModel['gpt-4o-mini']).toEqual({ requests: 1, inputTokens: 8, cachedInputTokens: 0, outputTokens: 16, costMicros: 11 });
    expect(fake.bill.costMicros).toBe(11);
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0].headers.authorization).toBe('Bearer sk-test-123');
    expect(fake.requests[0].body.messages[0].content).toBe('hello');
  });

  it('bills the whole planned completion when the client walks away mid-stream', async () => {
    fake.reset();
    fake.setBehaviour({ tokenDelayMs: 30 });
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }], stream: true },
      { signal: controller.signal },
    );
    let seen = 0;
    // The SDK ends the iteration quietly when its signal aborts.
    for await (const _chunk of stream) {
      if (++seen === 2) controller.abort();
    }
    fake.setBehaviour({});
    expect(seen).toBe(2);
    expect(fake.bill.byModel['gpt-4o-mini'].outputTokens).toBe(16);
  });

  it('does not bill failed requests', async () => {
    fake.reset();
    fake.setBehaviour({ fail: { status: 500 } });
    await expect(client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({ status: 500 });
    fake.setBehaviour({});
    expect(fake.bill.requests).toBe(0);
  });
});

describe('bytes counting for the benchmark', () => {
  it('counts one token per 4 bytes without loading a tokenizer', async () => {
    const cheap = await startFakeOpenAI({ countPrompt: 'bytes', outputTokens: 4, recordRequests: false });
    try {
      const sdk = new OpenAI({ baseURL: cheap.url, apiKey: 'any', maxRetries: 0 });
      const completion = await sdk.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] });
      // 3 + ceil(4/4) role + ceil(5/4) content + 3 priming
      expect(completion.usage?.prompt_tokens).toBe(9);
      expect(completion.usage?.completion_tokens).toBe(4);
      expect(completion.choices[0].message.content).toBe('You said: hello');
      expect(cheap.requests).toHaveLength(0);
    } finally {
      await cheap.close();
    }
  });
});
