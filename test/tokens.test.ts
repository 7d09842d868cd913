// Prompt token counts: OpenAI cookbook reference values, and the byte bound never below any count.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ChatMessage, ChatRequest, ToolDefinition } from '../src/core/chat-types.js';
import {
  boundedCount, encodedCharactersPerRequest, encodingForModel, hasExactTokenizer, longestEncodedRun, promptTokenUpperBound,
} from '../src/core/tokens.js';
import { countPromptTokensExact, encodeCount, preloadEncoding } from '../src/providers/openai/tokenizer.js';
import { countChatPrompt } from './fakes/tokens.js';

// OpenAI cookbook, "How to count tokens with tiktoken" §6 (examples/How_to_count_tokens_with_tiktoken.ipynb):
// the API billed 129 prompt tokens for these messages on gpt-3.5-turbo, gpt-4-0613 and gpt-4, 124 on gpt-4o and gpt-4o-mini.
const cookbookMessages: ChatMessage[] = [
  { role: 'system', content: 'You are a helpful, pattern-following assistant that translates corporate jargon into plain English.' },
  { role: 'system', name: 'example_user', content: 'New synergies will help drive top-line growth.' },
  { role: 'system', name: 'example_assistant', content: 'Things working well together will increase revenue.' },
  { role: 'system', name: 'example_user', content: "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage." },
  { role: 'system', name: 'example_assistant', content: "Let's talk later when we're less busy about how to do better." },
  { role: 'user', content: "This late pivot means we don't have time to boil the ocean for the client deliverable." },
];

// Cookbook §7: with this tool the API billed 105 prompt tokens on gpt-3.5-turbo and gpt-4, 101 on gpt-4o and gpt-4o-mini.
const weatherTools: ToolDefinition[] = [{
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
}];
const weatherMessages: ChatMessage[] = [
  { role: 'system', content: 'You are a helpful assistant that can answer to questions about the weather.' },
  { role: 'user', content: "What's the weather like in San Francisco?" },
];

const execFileAsync = promisify(execFile);

// Building the rank tables takes seconds on a busy machine: once, outside any single test's time limit.
beforeAll(() => {
  preloadEncoding('o200k_base');
  preloadEncoding('cl100k_base');
}, 60_000);

describe('countPromptTokensExact', () => {
  it.each([
    ['gpt-3.5-turbo', 129], ['gpt-4-0613', 129], ['gpt-4', 129], ['gpt-4o', 124], ['gpt-4o-mini', 124],
  ])('counts the cookbook example for %s as OpenAI billed it: %i tokens', (model, billed) => {
    expect(countPromptTokensExact({ model, messages: cookbookMessages }, model)).toBe(billed);
  });

  it.each([['gpt-4', 105], ['gpt-4o', 101]])('never counts the cookbook tool example for %s below the bill (%i) and stays within 30%% of it', (model, billed) => {
    const count = countPromptTokensExact({ model, messages: weatherMessages, tools: weatherTools }, model);
    expect(count).toBeGreaterThanOrEqual(billed);
    expect(count).toBeLessThanOrEqual(Math.ceil(billed * 1.3));
  });

  it('counts special-token text as plain text, as the API does, instead of throwing', () => {
    const request: ChatRequest = { model: 'gpt-4o', messages: [{ role: 'user', content: 'say <|endoftext|> please' }] };
    expect(countPromptTokensExact(request, 'gpt-4o')).toBeGreaterThan(8);
  });

  it('sums text parts and adds a conservative allowance per image', () => {
    const text: ChatRequest = { model: 'gpt-4o', messages: [{ role: 'user', content: 'Describe this picture.' }] };
    const parts: ChatRequest = {
      model: 'gpt-4o',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Describe this picture.' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] }],
    };
    expect(countPromptTokensExact(parts, 'gpt-4o') - countPromptTokensExact(text, 'gpt-4o')).toBeGreaterThanOrEqual(1445);
  });

  it('knows which models have a public tokenizer', () => {
    expect(encodingForModel('gpt-4o-2024-08-06')).toBe('o200k_base');
    expect(encodingForModel('gpt-4.1-mini')).toBe('o200k_base');
    expect(encodingForModel('gpt-5')).toBe('o200k_base');
    expect(encodingForModel('o3-mini')).toBe('o200k_base');
    expect(encodingForModel('gpt-4-turbo')).toBe('cl100k_base');
    expect(encodingForModel('gpt-3.5-turbo-0125')).toBe('cl100k_base');
    expect(hasExactTokenizer('claude-sonnet-4-5')).toBe(false);
    expect(hasExactTokenizer('gemini-2.5-flash')).toBe(false);
    expect(() => countPromptTokensExact({ model: 'claude-sonnet-4-5', messages: cookbookMessages }, 'claude-sonnet-4-5')).toThrow(/promptTokenUpperBound/);
  });
});

const text = fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'grapheme', maxLength: 40 }), fc.constantFrom('', ' ', '<|endoftext|>', '  \n\n  ', '1234567890', '🙂🙂🙂'));
const part = fc.oneof(
  text.map((value) => ({ type: 'text', text: value })),
  fc.constant({ type: 'image_url', image_url: { url: 'https://127.0.0.1/image.png' } }),
  fc.constant({ type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } }),
);
const message: fc.Arbitrary<ChatMessage> = fc.record({
  role: fc.constantFrom('system', 'developer', 'user', 'assistant', 'tool'),
  content: fc.oneof(text, fc.array(part, { maxLength: 3 }), fc.constant(null)),
  name: fc.option(fc.stringMatching(/^[a-z_]{1,12}$/), { nil: undefined }),
  tool_calls: fc.option(fc.array(fc.record({
    id: fc.stringMatching(/^call_[a-z0-9]{4,12}$/),
    type: fc.constant('function' as const),
    function: fc.record({ name: fc.stringMatching(/^[a-z_]{1,16}$/), arguments: fc.json({ maxDepth: 2 }) }),
  }), { maxLength: 2 }), { nil: undefined }),
}, { requiredKeys: ['role'] }) as fc.Arbitrary<ChatMessage>;
const tool: fc.Arbitrary<ToolDefinition> = fc.record({
  type: fc.constant('function' as const),
  function: fc.record({
    name: fc.stringMatching(/^[a-z_]{1,16}$/),
    description: text,
    parameters: fc.record({
      type: fc.constant('object'),
      properties: fc.dictionary(fc.stringMatching(/^[a-z]{1,8}$/), fc.record({
        type: fc.constantFrom('string', 'number', 'object'),
        description: text,
        enum: fc.option(fc.array(fc.stringMatching(/^[a-z]{1,8}$/), { maxLength: 3 }), { nil: undefined }),
      }, { requiredKeys: ['type', 'description'] }), { maxKeys: 3 }),
    }),
  }),
});
const request = (model: string): fc.Arbitrary<ChatRequest> => fc.record({
  model: fc.constant(model),
  messages: fc.array(message, { minLength: 1, maxLength: 5 }),
  tools: fc.option(fc.array(tool, { minLength: 1, maxLength: 2 }), { nil: undefined }),
}, { requiredKeys: ['model', 'messages'] });

describe('the exact tokenizer', () => {
  it('keeps its rank tables out of the JavaScript heap, so full garbage collections stay short', async () => {
    // A JavaScript port kept 68 MB of o200k's ranks on the heap: every full collection then took about 50 ms.
    const script = `
      const { preloadEncoding } = await import(${JSON.stringify(new URL('../src/providers/openai/tokenizer.ts', import.meta.url).href)});
      gc(); const before = process.memoryUsage().heapUsed;
      preloadEncoding('o200k_base'); preloadEncoding('cl100k_base');
      gc(); process.stdout.write(String(process.memoryUsage().heapUsed - before));
    `;
    const { stdout } = await execFileAsync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
    });
    expect(Number(stdout)).toBeLessThan(8 * 1024 * 1024);
  }, 60_000);
});

describe('promptTokenUpperBound', () => {
  it.each(['gpt-4o-mini', 'gpt-4'])('is never below the exact count for %s', (model) => {
    fc.assert(fc.property(request(model), (generated) => {
      expect(promptTokenUpperBound(generated)).toBeGreaterThanOrEqual(countPromptTokensExact(generated, model));
    }), { numRuns: 300 });
  }, 30_000);

  it.each(['gpt-4o-mini', 'gpt-4'])('and neither count is below what the fake OpenAI upstream bills (%s)', (model) => {
    fc.assert(fc.property(request(model), (generated) => {
      const billed = countChatPrompt(generated.messages, generated.tools, model, 'tiktoken');
      expect(countPromptTokensExact(generated, model)).toBeGreaterThanOrEqual(billed);
    }), { numRuns: 300 });
  }, 30_000);

  it('uses the upstream model for image allowances when the request names an alias', () => {
    const aliased: ChatRequest = { model: 'cheap', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] };
    expect(promptTokenUpperBound(aliased, 'gpt-4o-mini')).toBeGreaterThanOrEqual(countPromptTokensExact(aliased, 'gpt-4o-mini'));
    expect(promptTokenUpperBound(aliased, 'gpt-4o-mini')).toBeGreaterThan(promptTokenUpperBound(aliased));
  });

  it('stays within a small factor of the exact count for English prose', () => {
    const bound = promptTokenUpperBound({ model: 'gpt-4o', messages: cookbookMessages });
    expect(bound).toBeGreaterThan(124);
    expect(bound).toBeLessThan(124 * 6);
  });
});

describe('bounded exact counting', () => {
  // tiktoken's BPE takes time quadratic in the length of one pre-token: 100,000 letters in a row took 40 s, all on the
  // event loop. These prompts must be counted quickly (the test's time limit is far below that) and never short.
  const worstCases = { letters: 'a', cjk: '中', punctuation: '!', spaces: ' ', pairs: 'ab' };
  it.each(Object.entries(worstCases))('counts a 100,000-character run of %s without tokenizing it whole, never below the bill', (_name, unit) => {
    const text = unit.repeat(100_000 / unit.length);
    const request: ChatRequest = { model: 'gpt-4o', messages: [{ role: 'user', content: text }] };
    const counted = countPromptTokensExact(request, 'gpt-4o');
    // Each token is at least one byte, so a run counted by its bytes is above any tokenizer's count of it.
    expect(counted).toBeGreaterThanOrEqual(Buffer.byteLength(text) + 3 + 3);
  }, 5_000);

  it('spends at most its character budget on the tokenizer, whatever the shape of a huge prompt', () => {
    const run = '中'.repeat(longestEncodedRun);
    const text = Array.from({ length: 20_000 }, () => run).join(' ');
    const request: ChatRequest = { model: 'gpt-4o', messages: [{ role: 'user', content: text }, { role: 'user', content: text }] };
    let tokenized = 0;
    const encode = encodeCount('o200k_base');
    const count = boundedCount((piece) => { tokenized += piece.length; return encode(piece); });
    expect(count(text)).toBe(Buffer.byteLength(text));
    expect(tokenized).toBe(0);
    const small = boundedCount((piece) => { tokenized += piece.length; return encode(piece); });
    small(text.slice(0, 1000));
    expect(tokenized).toBeLessThanOrEqual(1000);
    expect(countPromptTokensExact(request, 'gpt-4o')).toBeGreaterThanOrEqual(Buffer.byteLength(text) * 2 - encodedCharactersPerRequest * 3);
  }, 5_000);

  it('is exact for ordinary text', () => {
    const encode = encodeCount('o200k_base');
    for (const message of cookbookMessages) expect(boundedCount(encode)(message.content as string)).toBe(encode(message.content as string));
  });

  it('is never below the whole text\'s count when it splits long runs (checked against tokenizing the whole text)', () => {
    const pieces = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom('a', '中', '!', ' ', '\n', 'ab', 'A', '1', 'é', '🙂', '\t').chain((unit) => fc.integer({ min: 60, max: 300 }).map((length) => unit.repeat(length))),
      fc.constantFrom(' ', '\n', '  ', '!', 'x', ''),
    );
    for (const encoding of ['o200k_base', 'cl100k_base'] as const) {
      const encode = encodeCount(encoding);
      fc.assert(fc.property(fc.array(pieces, { maxLength: 12 }), (parts) => {
        const text = parts.join('');
        expect(boundedCount(encode)(text)).toBeGreaterThanOrEqual(encode(text));
      }), { numRuns: 400 });
    }
  }, 60_000);
});
