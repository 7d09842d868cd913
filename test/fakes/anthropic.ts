// A fake Anthropic Messages API (POST /v1/messages, JSON and SSE) for tests: deterministic replies, and its own bill.
//
// Deterministic rules (tests predict them with the exported helpers):
// - Tokens are whitespace-separated words (fakeWords). Input tokens (fakeInputTokens): words of the system prompt,
//   of every text block, tool_result text, tool_use name + JSON input, and of each tool's name, description and
//   JSON input_schema; each image counts 100. At least 1.
// - Reply (fakeReply): if the last user turn holds tool_result blocks, "Tool result: <their text>". Else, if tools
//   are given, tool_choice is not "none", and either tool_choice forces a tool or the last user text names a tool,
//   a tool_use block for it, its input filled from "key=value" words in the prompt (else "value" / 1 / true).
//   Else the words of the last user text, echoed. Output tokens: words of the text; a tool call costs
//   fakeWords(`${name} ${JSON.stringify(input)}`).
// - The reply stops at the first stop_sequence found (stop_reason stop_sequence), else at max_tokens words
//   (stop_reason max_tokens), else end_turn / tool_use.
// - Extended thinking (thinking: {type: "enabled", budget_tokens}): the reply starts with a thinking block that uses
//   the whole budget (the worst case), words "step1 step2 …", with a signature; the thinking counts within
//   max_tokens, is billed as output and reported as usage.output_tokens_details.thinking_tokens (streamed: on the
//   final message_delta, as thinking_delta events of up to 64 words and one signature_delta). Requests Anthropic
//   refuses with thinking get its 400: budget_tokens below 1024 or not below max_tokens, temperature other than 1,
//   top_k, top_p below 0.95, tool_choice forcing a tool, a last assistant turn with tool_use not led by thinking.
// - The bill counts what the provider produced: a JSON reply in full, a stream up to where it was cut or abandoned;
//   each request's exact cost (test/fakes/price.ts) is rounded up to the micro-dollar.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { RequestCost, type DollarsPerMillionTokens } from './price.js';

/** Dollars per million tokens, as a decimal string or number (test/fakes/price.ts reads it exactly). */
export interface FakePrice {
  input_per_mtok: DollarsPerMillionTokens;
  output_per_mtok: DollarsPerMillionTokens;
  cache_read_per_mtok: DollarsPerMillionTokens;
  cache_write_per_mtok: DollarsPerMillionTokens;
}

/** Claude Sonnet's list prices ($3 / $15 per million tokens; cache reads 0.1x, writes 1.25x). */
export const defaultFakePrice: FakePrice = { input_per_mtok: '3', output_per_mtok: '15', cache_read_per_mtok: '0.30', cache_write_per_mtok: '3.75' };

export const fakeApiKey = 'sk-ant-fake-key';

export interface FakeAnthropicOptions {
  apiKey?: string;
  /** Delay before the response starts (ms). */
  latencyMs?: number;
  /** Delay between stream events (ms). */
  tokenDelayMs?: number;
  /** Answer with this HTTP status and Anthropic's error body; `times` limits it to the first N requests. */
  failWith?: { status: number; type?: string; message?: string; times?: number };
  /** 'text': a 200 whose body is not JSON (or SSE data that is not JSON); 'shape': JSON that is not a Message. */
  garbage?: 'text' | 'shape';
  /** Accept the request and never answer. */
  hang?: boolean;
  /** Destroy the connection after this many SSE events. */
  cutStreamAfter?: number;
  /** Send an `error` event (overloaded_error) after this many SSE events, then end. */
  errorMidStream?: number;
  /** Report this many of the input tokens as read from / written to the prompt cache. */
  cacheReadInputTokens?: number;
  cacheCreationInputTokens?: number;
  /** Prices by model id; others use defaultFakePrice. */
  prices?: Record<string, FakePrice>;
  /** The `model` the answer names, by requested model id (a silently swapped snapshot); default: echo. */
  returnedModels?: Record<string, string>;
}

export interface FakeBillLine {
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadInputTokens: number;
  cacheCreationInputTokens: number;
  /** Whole micro-dollars: each request's exact cost rounded up, summed. */
  costMicros: number;
}

/** One request on the bill: output is added as it is produced, and the line's cost follows the request's rounded-up total. */
export interface FakeCharge {
  addOutput(tokens: number): void;
}

/** The provider's own bill, per model, in its own exact arithmetic: each request is rounded up to the micro-dollar. */
export class FakeBill {
  readonly models: Record<string, FakeBillLine> = {};

  constructor(private readonly prices: Record<string, FakePrice>) {}

  /** A request started producing: count it and its input (input_tokens excludes the cache reads and writes). */
  open(model: string, input: { input: number; cacheRead: number; cacheWrite: number }): FakeCharge {
    const line = this.models[model] ??= { requests: 0, inputTokens: 0, outputTokens: 0, cacheReadInputTokens: 0, cacheCreationInputTokens: 0, costMicros: 0 };
    const price = this.prices[model] ?? defaultFakePrice;
    line.requests += 1;
    line.inputTokens += input.input;
    line.cacheReadInputTokens += input.cacheRead;
    line.cacheCreationInputTokens += input.cacheWrite;
    const cost = new RequestCost()
      .add(input.input, price.input_per_mtok)
      .add(input.cacheRead, price.cache_read_per_mtok)
      .add(input.cacheWrite, price.cache_write_per_mtok);
    let charged = cost.micros;
    line.costMicros += charged;
    return {
      addOutput(tokens) {
        line.outputTokens += tokens;
        cost.add(tokens, price.output_per_mtok);
        line.costMicros += cost.micros - charged;
        charged = cost.micros;
      },
    };
  }

  /** Requests billed (each counted once, when it started producing). */
  get requests(): number { return this.sum((line) => line.requests); }
  get inputTokens(): number { return this.sum((line) => line.inputTokens + line.cacheReadInputTokens + line.cacheCreationInputTokens); }
  get outputTokens(): number { return this.sum((line) => line.outputTokens); }
  get costMicros(): number { return this.sum((line) => line.costMicros); }

  private sum(pick: (line: FakeBillLine) => number): number {
    return Object.values(this.models).reduce((total, line) => total + pick(line), 0);
  }
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

export interface FakeAnthropic {
  url: string;
  /** The options in force: change them between requests (e.g. set failWith) without restarting. */
  options: FakeAnthropicOptions;
  bill: FakeBill;
  requests: RecordedRequest[];
  /** Resolves once no request is being answered: every stream has ended, been cut, or stopped after its client left. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;
type Block = Json & { type: string };

export function fakeWords(text: string): number {
  return text.split(/\s+/).filter((word) => word.length > 0).length;
}

function blockTokens(block: Block): number {
  if (block.type === 'text') return fakeWords(String(block.text ?? ''));
  if (block.type === 'image') return 100;
  if (block.type === 'tool_use') return fakeWords(`${String(block.name)} ${JSON.stringify(block.input ?? {})}`);
  if (block.type === 'tool_result') {
    const content = block.content;
    if (typeof content === 'string') return fakeWords(content);
    return Array.isArray(content) ? (content as Block[]).reduce((sum, inner) => sum + blockTokens(inner), 0) : 0;
  }
  return 0;
}

function contentTokens(content: unknown): number {
  if (typeof content === 'string') return fakeWords(content);
  return Array.isArray(content) ? (content as Block[]).reduce((sum, block) => sum + blockTokens(block), 0) : 0;
}

/** Input tokens of a request body, by the documented rule. */
export function fakeInputTokens(body: Json): number {
  let total = contentTokens(body.system);
  for (const message of (body.messages as Json[]) ?? []) total += contentTokens(message.content);
  for (const tool of (body.tools as Json[]) ?? []) {
    total += fakeWords(`${String(tool.name ?? '')} ${String(tool.description ?? '')} ${JSON.stringify(tool.input_schema ?? {})}`);
  }
  return Math.max(1, total);
}

export interface FakeReply {
  content: Block[];
  /** Thinking tokens (words of the thinking block), a part of outputTokens. */
  thinkingTokens: number;
  stopReason: 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use';
  stopSequence: string | null;
  outputTokens: number;
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return (content as Block[]).map((block) => (block.type === 'text' ? String(block.text) : '')).filter(Boolean).join(' ');
}

/** The thinking block of a request with extended thinking on: the whole budget, "step1 step2 …". */
export function fakeThinking(body: Json): Block | undefined {
  const thinking = body.thinking as Json | undefined;
  if (thinking?.type !== 'enabled') return undefined;
  const words = Array.from({ length: Number(thinking.budget_tokens) }, (_, index) => `step${index + 1}`);
  return { type: 'thinking', thinking: words.join(' '), signature: `fake-signature-${words.length}` };
}

/** The reply a request gets, by the documented rule. */
export function fakeReply(body: Json): FakeReply {
  const thinking = fakeThinking(body);
  const thinkingTokens = thinking ? fakeWords(String(thinking.thinking)) : 0;
  const reply = fakeAnswer(body, Number(body.max_tokens) - thinkingTokens);
  if (!thinking) return reply;
  return { ...reply, content: [thinking, ...reply.content], thinkingTokens, outputTokens: reply.outputTokens + thinkingTokens };
}

/** The visible part of the reply, within `maxTokens` words. */
function fakeAnswer(body: Json, maxTokens: number): FakeReply {
  const messages = (body.messages as Json[]) ?? [];
  const last = messages[messages.length - 1] ?? { content: '' };
  const blocks = Array.isArray(last.content) ? (last.content as Block[]) : [];
  const results = blocks.filter((block) => block.type === 'tool_result');
  const prompt = textOf(last.content);

  if (results.length === 0) {
    const tool = chooseTool(body, prompt);
    if (tool) {
      const input = fillInput(tool.input_schema as Json | undefined, prompt);
      const tokens = fakeWords(`${String(tool.name)} ${JSON.stringify(input)}`);
      if (tokens > maxTokens) return { content: [], stopReason: 'max_tokens', stopSequence: null, thinkingTokens: 0, outputTokens: maxTokens };
      const id = `toolu_fake${String(messages.length).padStart(4, '0')}`;
      return { content: [{ type: 'tool_use', id, name: String(tool.name), input }], stopReason: 'tool_use', stopSequence: null, thinkingTokens: 0, outputTokens: tokens };
    }
  }
  let text = results.length > 0
    ? `Tool result: ${results.map((block) => textOf(block.content)).join(' ')}`
    : prompt.split(/\s+/).filter(Boolean).join(' ') || 'OK';
  let stopReason: FakeReply['stopReason'] = 'end_turn';
  let stopSequence: string | null = null;
  let cut = -1;
  for (const sequence of (body.stop_sequences as string[]) ?? []) {
    const at = text.indexOf(sequence);
    if (at >= 0 && (cut < 0 || at < cut)) { cut = at; stopSequence = sequence; }
  }
  if (cut >= 0) { text = text.slice(0, cut).trimEnd(); stopReason = 'stop_sequence'; }
  const words = text.split(/\s+/).filter(Boolean);
  if (words.length > maxTokens) {
    text = words.slice(0, maxTokens).join(' ');
    stopReason = 'max_tokens';
    stopSequence = null;
  }
  return { content: [{ type: 'text', text }], stopReason, stopSequence, thinkingTokens: 0, outputTokens: fakeWords(text) };
}

function chooseTool(body: Json, prompt: string): Json | undefined {
  const tools = (body.tools as Json[]) ?? [];
  const choice = body.tool_choice as Json | undefined;
  if (tools.length === 0 || choice?.type === 'none') return undefined;
  if (choice?.type === 'tool') return tools.find((tool) => tool.name === choice.name);
  const named = tools.find((tool) => new RegExp(`\\b${String(tool.name).replace(/[^A-Za-z0-9_]/g, '')}\\b`).test(prompt));
  if (named) return named;
  return choice?.type === 'any' ? tools[0] : undefined;
}

function fillInput(schema: Json | undefined, prompt: string): Json {
  const input: Json = {};
  const properties = (schema?.properties as Record<string, Json>) ?? {};
  for (const [key, property] of Object.entries(properties)) {
    const given = new RegExp(`(?:^|\\s)${key}=(\\S+)`).exec(prompt)?.[1];
    if (property.type === 'number' || property.type === 'integer') input[key] = given !== undefined ? Number(given) : 1;
    else if (property.type === 'boolean') input[key] = given !== undefined ? given === 'true' : true;
    else input[key] = given ?? 'value';
  }
  return input;
}

function errorTypeFor(status: number): string {
  const types: Record<number, string> = { 400: 'invalid_request_error', 401: 'authentication_error', 402: 'billing_error',
    403: 'permission_error', 404: 'not_found_error', 413: 'request_too_large', 429: 'rate_limit_error', 529: 'overloaded_error' };
  return types[status] ?? 'api_error';
}

function sendError(response: ServerResponse, status: number, message: string, type = errorTypeFor(status)): void {
  response.writeHead(status, { 'content-type': 'application/json', 'request-id': 'req_fake' });
  response.end(JSON.stringify({ type: 'error', error: { type, message }, request_id: 'req_fake' }));
}

/** The first problem with a request, worded as Anthropic words it; undefined when the request is valid. */
function validate(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return 'body: Input should be an object';
  const request = body as Json;
  if (typeof request.model !== 'string') return 'model: Field required';
  if (request.max_tokens === undefined) return 'max_tokens: Field required';
  if (!Number.isInteger(request.max_tokens) || (request.max_tokens as number) < 1) return 'max_tokens: Input should be a valid positive integer';
  if (!Array.isArray(request.messages)) return 'messages: Field required';
  if (request.messages.length === 0) return 'messages: at least one message is required';
  for (const [index, message] of (request.messages as Json[]).entries()) {
    if (message.role !== 'user' && message.role !== 'assistant') return `messages.${index}.role: Input should be 'user' or 'assistant'`;
    if (typeof message.content !== 'string' && !Array.isArray(message.content)) return `messages.${index}.content: Field required`;
  }
  return request.thinking === undefined ? undefined : validateThinking(request);
}

/** Anthropic's refusals of extended thinking (https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking). */
function validateThinking(request: Json): string | undefined {
  const thinking = request.thinking as Json;
  if (thinking.type !== 'enabled') return undefined;
  const budget = thinking.budget_tokens;
  if (!Number.isInteger(budget) || (budget as number) < 1024) return 'thinking.enabled.budget_tokens: Input should be greater than or equal to 1024';
  if ((budget as number) >= (request.max_tokens as number)) return '`max_tokens` must be greater than `thinking.budget_tokens`.';
  if (request.temperature !== undefined && request.temperature !== 1) return '`temperature` may only be set to 1 when thinking is enabled.';
  if (request.top_k !== undefined) return '`top_k` must be unset when thinking is enabled.';
  if (request.top_p !== undefined && (request.top_p as number) < 0.95) return '`top_p` must be greater than or equal to 0.95 or unset when thinking is enabled.';
  const choice = (request.tool_choice as Json | undefined)?.type;
  if (choice === 'any' || choice === 'tool') return 'Thinking may not be enabled when tool_choice forces tool use.';
  const messages = request.messages as Json[];
  const assistant = [...messages].reverse().find((message) => message.role === 'assistant');
  const content = Array.isArray(assistant?.content) ? (assistant.content as Block[]) : [];
  if (content.some((block) => block.type === 'tool_use') && content[0]?.type !== 'thinking' && content[0]?.type !== 'redacted_thinking') {
    return `messages.${messages.indexOf(assistant!)}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${content[0]?.type}\`. When \`thinking\` is enabled, a final \`assistant\` message must start with a thinking block.`;
  }
  return undefined;
}

/** The output counts of a reply's usage: thinking tokens broken out only when there was thinking. */
function outputUsage(reply: FakeReply): Json {
  return { output_tokens: reply.outputTokens, ...(reply.thinkingTokens > 0 ? { output_tokens_details: { thinking_tokens: reply.thinkingTokens } } : {}) };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function startFakeAnthropic(options: FakeAnthropicOptions = {}): Promise<FakeAnthropic> {
  const apiKey = options.apiKey ?? fakeApiKey;
  const bill = new FakeBill(options.prices ?? {});
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  let failures = 0;
  let sequence = 0;
  const answering = new Set<Promise<void>>();

  const server = createServer((request, response) => {
    const parts: Buffer[] = [];
    request.on('data', (part: Buffer) => parts.push(part));
    request.on('end', () => {
      const answer: Promise<void> = handle(request, Buffer.concat(parts).toString('utf8'), response)
        .catch(() => { response.destroy(); })
        .finally(() => answering.delete(answer));
      answering.add(answer);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  async function handle(request: IncomingMessage, text: string, response: ServerResponse): Promise<void> {
    let body: unknown;
    try { body = JSON.parse(text); } catch { body = undefined; }
    requests.push({ method: request.method ?? '', path: request.url ?? '', headers: request.headers, body: body ?? text });
    if (options.hang) return;
    if (options.latencyMs) await sleep(options.latencyMs);
    if (request.method !== 'POST' || request.url?.split('?')[0] !== '/v1/messages') return sendError(response, 404, `Not found: ${request.url}`);
    if (request.headers['x-api-key'] !== apiKey) return sendError(response, 401, 'invalid x-api-key');
    if (!request.headers['anthropic-version']) return sendError(response, 400, 'anthropic-version: header is required');
    if (body === undefined) return sendError(response, 400, 'The request body is not valid JSON.');
    const problem = validate(body);
    if (problem) return sendError(response, 400, problem);
    if (options.failWith && (options.failWith.times === undefined || failures < options.failWith.times)) {
      failures += 1;
      return sendError(response, options.failWith.status, options.failWith.message ?? 'Fake failure', options.failWith.type);
    }
    const json = body as Json;
    const stream = json.stream === true;
    if (options.garbage) {
      response.writeHead(200, { 'content-type': stream ? 'text/event-stream' : 'application/json' });
      if (options.garbage === 'shape') return void response.end(stream ? 'event: message_start\ndata: {"hello":"world"}\n\n' : '{"hello":"world"}');
      return void response.end(stream ? 'event: message_start\ndata: <html>not json\n\n' : '<html>502 Bad Gateway</html>');
    }
    sequence += 1;
    const id = `msg_fake${String(sequence).padStart(6, '0')}`;
    const model = String(json.model);
    const reply = fakeReply(json);
    const total = fakeInputTokens(json);
    const cacheRead = Math.min(options.cacheReadInputTokens ?? 0, total);
    const cacheWrite = Math.min(options.cacheCreationInputTokens ?? 0, total - cacheRead);
    const usage = { input_tokens: total - cacheRead - cacheWrite, cache_creation_input_tokens: cacheWrite, cache_read_input_tokens: cacheRead };
    const charge = bill.open(model, { input: usage.input_tokens, cacheRead, cacheWrite });

    if (!stream) {
      charge.addOutput(reply.outputTokens);
      response.writeHead(200, { 'content-type': 'application/json', 'request-id': 'req_fake' });
      response.end(JSON.stringify({ id, type: 'message', role: 'assistant', model: options.returnedModels?.[model] ?? model, content: reply.content,
        stop_reason: reply.stopReason, stop_sequence: reply.stopSequence, usage: { ...usage, ...outputUsage(reply) } }));
      return;
    }
    await writeStream(response, id, model, reply, usage, charge);
  }

  /** Write the documented event sequence, billing output as it goes out. */
  async function writeStream(response: ServerResponse, id: string, model: string, reply: FakeReply,
    usage: Json, charge: FakeCharge): Promise<void> {
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'request-id': 'req_fake' });
    const events: { event: string; data: Json; output?: number }[] = [
      { event: 'message_start', data: { type: 'message_start', message: { id, type: 'message', role: 'assistant', model: options.returnedModels?.[model] ?? model, content: [],
        stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } } } },
      { event: 'ping', data: { type: 'ping' } },
    ];
    reply.content.forEach((block, index) => {
      if (block.type === 'text') {
        events.push({ event: 'content_block_start', data: { type: 'content_block_start', index, content_block: { type: 'text', text: '' } } });
        String(block.text).split(/\s+/).filter(Boolean).forEach((word, position) => {
          events.push({ event: 'content_block_delta', output: 1,
            data: { type: 'content_block_delta', index, delta: { type: 'text_delta', text: position === 0 ? word : ` ${word}` } } });
        });
      } else if (block.type === 'thinking') {
        events.push({ event: 'content_block_start', data: { type: 'content_block_start', index, content_block: { type: 'thinking', thinking: '', signature: '' } } });
        const words = String(block.thinking).split(' ');
        for (let start = 0; start < words.length; start += 64) {
          const piece = words.slice(start, start + 64);
          events.push({ event: 'content_block_delta', output: piece.length,
            data: { type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking: `${start === 0 ? '' : ' '}${piece.join(' ')}` } } });
        }
        events.push({ event: 'content_block_delta', data: { type: 'content_block_delta', index, delta: { type: 'signature_delta', signature: block.signature } } });
      } else {
        events.push({ event: 'content_block_start', data: { type: 'content_block_start', index, content_block: { ...block, input: {} } } });
        const json = JSON.stringify(block.input);
        const third = Math.ceil(json.length / 3);
        const pieces = ['', json.slice(0, third), json.slice(third, 2 * third), json.slice(2 * third)];
        pieces.forEach((piece) => events.push({ event: 'content_block_delta',
          data: { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: piece } } }));
      }
      events.push({ event: 'content_block_stop', data: { type: 'content_block_stop', index } });
    });
    events.push({ event: 'message_delta', data: { type: 'message_delta', delta: { stop_reason: reply.stopReason, stop_sequence: reply.stopSequence },
      usage: outputUsage(reply) } });
    events.push({ event: 'message_stop', data: { type: 'message_stop' } });

    let written = 0;
    for (const [position, event] of events.entries()) {
      if (response.destroyed || response.writableEnded) return; // the client left: the provider stops generating
      if (options.cutStreamAfter !== undefined && position >= options.cutStreamAfter) {
        // Let what was written reach the client first, then drop the connection without a proper end.
        await new Promise<void>((resolve) => response.write('', () => resolve()));
        return void response.destroy();
      }
      if (options.errorMidStream !== undefined && position >= options.errorMidStream) {
        response.end(`event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })}\n\n`);
        return;
      }
      response.write(`event: ${event.event}\ndata: ${JSON.stringify(event.data)}\n\n`);
      // Text and thinking are billed as they go out; whatever else the reply cost (tool input) is billed with message_delta.
      const output = event.event === 'message_delta' ? reply.outputTokens - written : event.output ?? 0;
      if (output > 0) { charge.addOutput(output); written += output; }
      if (options.tokenDelayMs) await sleep(options.tokenDelayMs);
    }
    response.end();
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    options,
    bill,
    requests,
    async idle() {
      while (answering.size > 0) await Promise.allSettled([...answering]);
    },
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}
