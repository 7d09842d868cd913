// Fake OpenAI upstream (chat completions and responses, JSON + SSE, embeddings, models) that keeps OpenAI's bill: for gateway tests and the benchmark.
//
// Deterministic rules (documented here because tests assert them):
// - Reply text: "You said: <last user message>" repeated until it fills the output; non-ASCII becomes '?'.
//   Output length = min(max_completion_tokens ?? max_tokens, options.outputTokens (default 16)) tokens;
//   finish_reason 'length' when the limit cut it short, else 'stop'. Choice i > 0 prefixes "[i] ".
// - `stop`: the text ends before the first stop sequence; finish_reason 'stop'.
// - Tools (tool_choice not 'none'): a call to the named function (tool_choice {function: {name}}), else to the
//   first tool, unless tool_choice is 'auto'/absent and the last message is a tool result (then a text reply).
//   Arguments: see argumentsFor(). completion_tokens = tokens of the arguments JSON.
// - response_format json_object: content = {"reply": <last user message>}; json_schema: built like tool arguments.
// - Bill: a request is billed in full (prompt + the whole planned completion) once generation starts, i.e.
//   when the 200 headers go out, even if the client disconnects or the stream is cut. Failures are not billed.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createResponsesHandler } from './openai-responses.js';
import { RequestCost, type DollarsPerMillionTokens } from './price.js';
import { argumentsFor, countChatPrompt, countText, cutAtStop, embeddingVector, generatePieces, lastUserText, splitPieces, type TokenCounting } from './tokens.js';

export interface FakeOpenAIOptions {
  /** Require `Authorization: Bearer <apiKey>`; otherwise any (or no) key is accepted. */
  apiKey?: string;
  /** Natural reply length in tokens (default 16). */
  outputTokens?: number;
  /** Dollars per million tokens, by requested model; unknown models cost 0. */
  prices?: Record<string, FakePrice>;
  /** How to count tokens (default 'tiktoken'); 'bytes' skips the tokenizer for the benchmark. */
  countPrompt?: TokenCounting;
  /** Listed by GET /v1/models (default: a few well-known ids). */
  models?: string[];
  /** Answer 404 model_not_found for models not in `models`. */
  rejectUnknownModels?: boolean;
  /** The model id the response reports, by requested id (e.g. gpt-4o-mini -> gpt-4o-mini-2024-07-18); default: echo. */
  modelVersions?: Record<string, string>;
  /** Hidden reasoning tokens per choice, counted in completion_tokens (and within max_completion_tokens). */
  reasoningTokens?: number;
  /** Prompt tokens reported as read from the prompt cache (capped at the prompt). */
  cachedPromptTokens?: number;
  behaviour?: FakeBehaviour;
  /** Keep each request's body and headers (default true; the benchmark turns it off). */
  recordRequests?: boolean;
}

export interface FakeOpenAI {
  /** Base URL ending in /v1, for `new OpenAI({baseURL})`. */
  url: string;
  port: number;
  /** Live: updated as requests are billed. */
  bill: FakeBill;
  requests: RecordedRequest[];
  setBehaviour(behaviour: FakeBehaviour): void;
  /** Change what chat answers report at run time (a silent upstream update): their system_fingerprint and model id by requested id. */
  setIdentity(identity: { fingerprint?: string; modelVersions?: Record<string, string> }): void;
  /** Clear the bill and the recorded requests. */
  reset(): void;
  close(): Promise<void>;
}

export const fakeSystemFingerprint = 'fp_covenant_fake';
const defaultModels = ['gpt-4o-mini', 'gpt-4o', 'gpt-4.1-mini', 'o3-mini', 'gpt-3.5-turbo', 'text-embedding-3-small'];

interface PlannedChoice {
  index: number;
  pieces: string[];
  toolCall?: { id: string; name: string };
  finishReason: 'stop' | 'length' | 'tool_calls';
  reasoningTokens: number;
}

/** Start the fake on 127.0.0.1 with a random port. */
export async function startFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const counting = options.countPrompt ?? 'tiktoken';
  const defaultOutput = options.outputTokens ?? 16;
  const models = options.models ?? defaultModels;
  let sequence = 0;
  let fingerprint = fakeSystemFingerprint;
  let modelVersions = options.modelVersions;

  // The answer switches of the behaviour (reply, outputTokens), kept here as setBehaviour replaces them.
  let answers: FakeBehaviour = { ...options.behaviour };
  const core: FakeServerCore = await startServer({
    behaviour: options.behaviour,
    recordRequests: options.recordRequests,
    prices: options.prices,
    authorize: (request) => authorize(request.headers, options.apiKey),
    errorBody: (status, message, type, code) => ({ error: { message, type: type ?? errorType(status), param: null, code: code ?? null } }),
    isStream: (_request, body) => (body as { stream?: unknown } | undefined)?.stream === true,
    garbage: (streaming) => (streaming ? 'data: {"id": "chatcmpl-broken", "choices": [\n\n' : '<html><body>502 Bad Gateway</body></html>'),
    route: async (request, response, body) => {
      const path = (request.url ?? '').split('?')[0];
      if (request.method === 'GET' && path === '/v1/models') {
        sendJson(response, 200, { object: 'list', data: models.map((id) => modelEntry(id)) });
        return;
      }
      if (request.method === 'GET' && path.startsWith('/v1/models/')) {
        const id = decodeURIComponent(path.slice('/v1/models/'.length));
        if (models.includes(id)) sendJson(response, 200, modelEntry(id));
        else sendJson(response, 404, modelNotFound(id));
        return;
      }
      if (request.method === 'POST' && path === '/v1/chat/completions') return chat(response, body as Record<string, unknown>);
      if (request.method === 'POST' && path === '/v1/embeddings') return embeddings(response, body as Record<string, unknown>);
      if (request.method === 'POST' && path === '/v1/responses') return responses(response, body as Record<string, unknown>);
      sendJson(response, 404, { error: { message: `Invalid URL (${request.method} ${path})`, type: 'invalid_request_error', param: null, code: null } });
    },
  });

  const responses = createResponsesHandler(() => core, {
    counting, outputTokens: defaultOutput, reasoningTokens: options.reasoningTokens ?? 0,
    cachedPromptTokens: options.cachedPromptTokens ?? 0, modelVersions: options.modelVersions,
  }, sendJson);

  function modelNotFound(model: string) {
    return { error: { message: `The model \`${model}\` does not exist or you do not have access to it.`, type: 'invalid_request_error', param: null, code: 'model_not_found' } };
  }

  function invalid(response: ServerResponse, message: string, param: string | null): void {
    sendJson(response, 400, { error: { message, type: 'invalid_request_error', param, code: null } });
  }

  async function chat(response: ServerResponse, body: Record<string, unknown>): Promise<void> {
    const model = body.model;
    if (typeof model !== 'string' || model === '') return invalid(response, 'you must provide a model parameter', 'model');
    if (!Array.isArray(body.messages) || body.messages.length === 0) return invalid(response, "Invalid 'messages': empty array. Expected an array with minimum length 1.", 'messages');
    if (options.rejectUnknownModels && !models.includes(model)) return sendJson(response, 404, modelNotFound(model));
    const messages = body.messages as Record<string, unknown>[];
    const tools = Array.isArray(body.tools) ? (body.tools as { function?: { name?: string; parameters?: Record<string, unknown> } }[]) : undefined;
    const promptTokens = countChatPrompt(messages, tools, model, counting);
    const cachedTokens = Math.min(options.cachedPromptTokens ?? 0, promptTokens);
    const limitField = (body.max_completion_tokens ?? body.max_tokens) as number | null | undefined;
    const limit = typeof limitField === 'number' ? limitField : Number.POSITIVE_INFINITY;
    const choiceCount = typeof body.n === 'number' && body.n > 0 ? body.n : 1;
    const stops = typeof body.stop === 'string' ? [body.stop] : Array.isArray(body.stop) ? (body.stop as string[]) : [];
    const source = lastUserText(messages);
    const id = `chatcmpl-fake${++sequence}`;
    const plan: PlannedChoice[] = [];
    for (let index = 0; index < choiceCount; index++) {
      const reasoningTokens = Math.min(options.reasoningTokens ?? 0, limit);
      const room = Math.max(0, limit - reasoningTokens);
      const toolName = pickTool(body, tools, messages);
      if (toolName !== undefined) {
        const tool = tools?.find((candidate) => candidate.function?.name === toolName);
        const argumentText = JSON.stringify(argumentsFor(tool?.function?.parameters, source));
        const all = splitPieces(argumentText, model, counting);
        const pieces = all.slice(0, room);
        plan.push({ index, pieces, reasoningTokens, toolCall: { id: `call_fake${sequence}_${index}`, name: toolName },
          finishReason: pieces.length < all.length ? 'length' : 'tool_calls' });
        continue;
      }
      const format = body.response_format as { type?: string; json_schema?: { schema?: Record<string, unknown> } } | undefined;
      let all: string[];
      let natural: number;
      if (format?.type === 'json_object' || format?.type === 'json_schema') {
        const value = format.type === 'json_object' ? { reply: source } : argumentsFor(format.json_schema?.schema, source);
        all = splitPieces(JSON.stringify(value), model, counting);
        natural = all.length;
      } else if (answers.reply) {
        // An answer variant: its own text, at its own length unless outputTokens sets one.
        const text = answers.reply(source);
        natural = answers.outputTokens ?? splitPieces(text, model, counting).length;
        all = generatePieces(text, Math.min(natural, room), model, counting);
      } else {
        natural = answers.outputTokens ?? defaultOutput;
        all = generatePieces(index === 0 ? `You said: ${source}` : `[${index}] You said: ${source}`, Math.min(natural, room), model, counting);
      }
      let pieces = all.slice(0, Math.min(natural, room));
      let finishReason: PlannedChoice['finishReason'] = pieces.length < natural ? 'length' : 'stop';
      const cut = cutAtStop(pieces, stops);
      if (cut) { pieces = cut; finishReason = 'stop'; }
      plan.push({ index, pieces, finishReason, reasoningTokens });
    }
    const completionTokens = plan.reduce((sum, choice) => sum + choice.pieces.length + choice.reasoningTokens, 0);
    const reasoningTotal = plan.reduce((sum, choice) => sum + choice.reasoningTokens, 0);
    const usage = {
      prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens,
      prompt_tokens_details: { cached_tokens: cachedTokens, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: reasoningTotal, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    };
    const reported = modelVersions?.[model] ?? model;
    const created = Math.floor(Date.now() / 1000);
    core.charge(model, promptTokens, completionTokens, cachedTokens);
    if (body.stream === true) {
      const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
      const frames = streamFrames(plan, { id, created, model: reported, usage: includeUsage ? usage : undefined, fingerprint });
      await core.writeStream(response, frames);
      return;
    }
    sendJson(response, 200, {
      id, object: 'chat.completion', created, model: reported,
      choices: plan.map((choice) => ({
        index: choice.index,
        message: choice.toolCall
          ? { role: 'assistant', content: null, refusal: null, annotations: [],
            tool_calls: [{ id: choice.toolCall.id, type: 'function', function: { name: choice.toolCall.name, arguments: choice.pieces.join('') } }] }
          : { role: 'assistant', content: choice.pieces.join(''), refusal: null, annotations: [] },
        logprobs: null,
        finish_reason: choice.finishReason,
      })),
      usage, service_tier: 'default', system_fingerprint: fingerprint,
    });
  }

  async function embeddings(response: ServerResponse, body: Record<string, unknown>): Promise<void> {
    const model = body.model;
    if (typeof model !== 'string' || model === '') return invalid(response, 'you must provide a model parameter', 'model');
    const inputs = embeddingInputs(body.input);
    if (!inputs) return invalid(response, "'input' is a required property and must be a non-empty string or array.", 'input');
    if (options.rejectUnknownModels && !models.includes(model)) return sendJson(response, 404, modelNotFound(model));
    const dimensions = typeof body.dimensions === 'number' ? body.dimensions : model.includes('large') ? 3072 : 1536;
    let tokens = 0;
    const data = inputs.map((input, index) => {
      tokens += typeof input === 'string' ? countText(input, model, counting) : input.length;
      const vector = embeddingVector(typeof input === 'string' ? input : input.join(','), dimensions);
      const embedding = body.encoding_format === 'base64' ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector;
      return { object: 'embedding', index, embedding };
    });
    core.charge(model, tokens, 0, 0);
    sendJson(response, 200, { object: 'list', data, model: options.modelVersions?.[model] ?? model, usage: { prompt_tokens: tokens, total_tokens: tokens } });
  }

  return {
    url: `${core.baseUrl}/v1`,
    port: core.port,
    bill: core.bill,
    requests: core.requests,
    setBehaviour(behaviour) {
      answers = { ...behaviour };
      core.setBehaviour(behaviour);
    },
    setIdentity(identity) {
      if (identity.fingerprint !== undefined) fingerprint = identity.fingerprint;
      if (identity.modelVersions !== undefined) modelVersions = identity.modelVersions;
    },
    reset: core.reset,
    close: core.close,
  };
}

function modelEntry(id: string) {
  return { id, object: 'model', created: 1_715_367_049, owned_by: 'system' };
}

function errorType(status: number): string {
  if (status === 429) return 'requests';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

function authorize(headers: IncomingHttpHeaders, apiKey: string | undefined): { status: number; body: unknown } | undefined {
  if (apiKey === undefined) return undefined;
  const header = headers.authorization;
  if (!header) {
    return { status: 401, body: { error: { message: "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).", type: 'invalid_request_error', param: null, code: null } } };
  }
  if (header !== `Bearer ${apiKey}`) {
    const given = header.replace(/^Bearer\s+/i, '');
    return { status: 401, body: { error: { message: `Incorrect API key provided: ${given.slice(0, 3)}****${given.slice(-4)}. You can find your API key at https://platform.openai.com/account/api-keys.`, type: 'invalid_request_error', param: null, code: 'invalid_api_key' } } };
  }
  return undefined;
}

function pickTool(body: Record<string, unknown>, tools: { function?: { name?: string } }[] | undefined, messages: Record<string, unknown>[]): string | undefined {
  if (!tools || tools.length === 0) return undefined;
  const choice = body.tool_choice;
  if (choice === 'none') return undefined;
  if (choice && typeof choice === 'object') return (choice as { function?: { name?: string } }).function?.name;
  if (choice !== 'required' && messages[messages.length - 1]?.role === 'tool') return undefined;
  return tools[0].function?.name;
}

function embeddingInputs(input: unknown): (string | number[])[] | undefined {
  if (typeof input === 'string') return input === '' ? undefined : [input];
  if (!Array.isArray(input) || input.length === 0) return undefined;
  if (input.every((item) => typeof item === 'number')) return [input as number[]];
  if (input.every((item) => typeof item === 'string' || Array.isArray(item))) return input as (string | number[])[];
  return undefined;
}

interface StreamHead { id: string; created: number; model: string; usage: Record<string, unknown> | undefined; fingerprint: string }

/** SSE frames as OpenAI sends them: a role chunk, content (or tool-call argument) chunks, a finish chunk per choice, the usage chunk, [DONE]. */
function streamFrames(plan: PlannedChoice[], head: StreamHead): string[] {
  const frames: string[] = [];
  const base = `"id":"${head.id}","object":"chat.completion.chunk","created":${head.created},"model":${JSON.stringify(head.model)},"service_tier":"default","system_fingerprint":${JSON.stringify(head.fingerprint)}`;
  const usageTail = head.usage ? ',"usage":null' : '';
  const frame = (choice: unknown) => `data: {${base},"choices":[${JSON.stringify(choice)}]${usageTail}}\n\n`;
  for (const choice of plan) {
    const index = choice.index;
    if (choice.toolCall) {
      frames.push(frame({ index, delta: { role: 'assistant', content: null, tool_calls: [{ index: 0, id: choice.toolCall.id, type: 'function', function: { name: choice.toolCall.name, arguments: '' } }], refusal: null }, logprobs: null, finish_reason: null }));
      for (const piece of choice.pieces) frames.push(frame({ index, delta: { tool_calls: [{ index: 0, function: { arguments: piece } }] }, logprobs: null, finish_reason: null }));
    } else {
      frames.push(frame({ index, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }));
      for (const piece of choice.pieces) frames.push(frame({ index, delta: { content: piece }, logprobs: null, finish_reason: null }));
    }
    frames.push(frame({ index, delta: {}, logprobs: null, finish_reason: choice.finishReason }));
  }
  if (head.usage) frames.push(`data: {${base},"choices":[],"usage":${JSON.stringify(head.usage)}}\n\n`);
  frames.push('data: [DONE]\n\n');
  return frames;
}

// ---- The server core shared with the Gemini fake: behaviours, the bill, recorded requests. ----

/** Dollars per million tokens, as in config (a number or its decimal string); cached input defaults to the input price. */
export interface FakePrice { input_per_mtok: DollarsPerMillionTokens; output_per_mtok: DollarsPerMillionTokens; cached_input_per_mtok?: DollarsPerMillionTokens }

/** How the fake misbehaves; setBehaviour() replaces the whole set. */
export interface FakeBehaviour {
  /** Wait before answering (after auth). */
  latencyMs?: number;
  /** Wait between stream frames. */
  tokenDelayMs?: number;
  /** Answer with this status and the provider's error JSON; `times` failures then back to normal (default: always). */
  fail?: { status: number; message?: string; type?: string; code?: string | null; times?: number };
  /** Answer 200 with a body that is not the provider's format (HTML, or a broken SSE frame for streams). */
  garbage?: boolean;
  /** Never answer. */
  hang?: boolean;
  /** Write this many stream frames, then drop the connection. */
  cutStreamAfter?: number;
  /** Chat only: answer with this text (given the last user message) instead of "You said: …" — a changed model. */
  reply?: (prompt: string) => string;
  /** Chat only: the natural answer length in tokens, instead of outputTokens (or the reply's own length). */
  outputTokens?: number;
}

export interface ModelBill { requests: number; inputTokens: number; cachedInputTokens: number; outputTokens: number; costMicros: number }
export interface FakeBill { requests: number; inputTokens: number; outputTokens: number; costMicros: number; byModel: Record<string, ModelBill> }

export interface RecordedRequest {
  method: string;
  /** Path with the query string. */
  path: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body (undefined when empty or not JSON). */
  body: any;
}

export interface FakeServerOptions {
  behaviour?: FakeBehaviour;
  recordRequests?: boolean;
  prices?: Record<string, FakePrice>;
  /** An error answer (status, body) when the request's credential is wrong. */
  authorize(request: IncomingMessage): { status: number; body: unknown } | undefined;
  errorBody(status: number, message: string, type?: string, code?: string | null): unknown;
  isStream(request: IncomingMessage, body: unknown): boolean;
  garbage(streaming: boolean): string;
  route(request: IncomingMessage, response: ServerResponse, body: unknown): Promise<void> | void;
}

export interface FakeServerCore {
  baseUrl: string;
  port: number;
  bill: FakeBill;
  requests: RecordedRequest[];
  setBehaviour(behaviour: FakeBehaviour): void;
  reset(): void;
  close(): Promise<void>;
  /** Add one request to the bill: its exact cost at the model's price (test/fakes/price.ts), rounded up to the micro-dollar. */
  charge(model: string, inputTokens: number, outputTokens: number, cachedInputTokens: number): void;
  /** Send SSE frames, honouring tokenDelayMs and cutStreamAfter; stops when the client goes away. */
  writeStream(response: ServerResponse, frames: string[]): Promise<void>;
}

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-request-id': `req_fake${Math.floor(Math.random() * 1e9)}` });
  response.end(text);
}

function emptyBill(): FakeBill {
  return { requests: 0, inputTokens: 0, outputTokens: 0, costMicros: 0, byModel: {} };
}

function wait(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

async function readText(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A node:http server on 127.0.0.1 (random port) that parses JSON, records, authorizes, misbehaves on demand, then routes. */
export async function startServer(options: FakeServerOptions): Promise<FakeServerCore> {
  let behaviour: FakeBehaviour = { ...options.behaviour };
  const bill = emptyBill();
  const requests: RecordedRequest[] = [];
  const record = options.recordRequests ?? true;

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const text = await readText(request);
    let body: unknown;
    let parsed = true;
    if (text.length > 0) {
      try { body = JSON.parse(text); } catch { parsed = false; }
    }
    if (record) requests.push({ method: request.method ?? 'GET', path: request.url ?? '', headers: request.headers, body });
    const denied = options.authorize(request);
    if (denied) return sendJson(response, denied.status, denied.body);
    const now = behaviour;
    if (now.latencyMs) await wait(now.latencyMs);
    if (now.hang) return;
    if (now.fail) {
      const failure = now.fail;
      if (failure.times !== undefined && --failure.times <= 0) behaviour = { ...behaviour, fail: undefined };
      return sendJson(response, failure.status, options.errorBody(failure.status, failure.message ?? `The fake upstream failed with HTTP ${failure.status}.`, failure.type, failure.code));
    }
    if (now.garbage) {
      const streaming = options.isStream(request, body);
      response.writeHead(200, { 'content-type': streaming ? 'text/event-stream' : 'application/json' });
      response.end(options.garbage(streaming));
      return;
    }
    if (!parsed) {
      return sendJson(response, 400, options.errorBody(400, 'We could not parse the JSON body of your request. (HINT: This likely means you aren\'t using your HTTP library correctly.)', 'invalid_request_error', null));
    }
    await options.route(request, response, body);
  }

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) sendJson(response, 500, options.errorBody(500, `fake upstream bug: ${String(error)}`));
      else response.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    port,
    bill,
    requests,
    setBehaviour(next) { behaviour = { ...next }; },
    reset() {
      requests.length = 0;
      Object.assign(bill, emptyBill());
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
    charge(model, inputTokens, outputTokens, cachedInputTokens) {
      const price = options.prices?.[model];
      // Cached prompt tokens are part of the prompt, billed at the cached rate; the provider's own exact arithmetic.
      const cost = price ? new RequestCost()
        .add(inputTokens - cachedInputTokens, price.input_per_mtok)
        .add(cachedInputTokens, price.cached_input_per_mtok ?? price.input_per_mtok)
        .add(outputTokens, price.output_per_mtok)
        .micros : 0;
      const entry = bill.byModel[model] ??= { requests: 0, inputTokens: 0, cachedInputTokens: 0, outputTokens: 0, costMicros: 0 };
      entry.requests += 1;
      entry.inputTokens += inputTokens;
      entry.cachedInputTokens += cachedInputTokens;
      entry.outputTokens += outputTokens;
      entry.costMicros += cost;
      bill.requests += 1;
      bill.inputTokens += inputTokens;
      bill.outputTokens += outputTokens;
      bill.costMicros += cost;
    },
    async writeStream(response, frames) {
      const now = behaviour;
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      const cutAfter = now.cutStreamAfter;
      const delay = now.tokenDelayMs ?? 0;
      if (cutAfter === undefined && delay === 0) {
        response.end(frames.join(''));
        return;
      }
      let gone = false;
      response.on('close', () => { gone = true; });
      for (let index = 0; index < frames.length; index++) {
        if (gone) return;
        if (cutAfter !== undefined && index >= cutAfter) {
          response.destroy();
          return;
        }
        // Wait for each frame to reach the socket, so a cut drops the connection after exactly these frames.
        await new Promise<void>((resolve) => {
          response.once('close', resolve);
          response.write(frames[index], () => { response.off('close', resolve); resolve(); });
        });
        if (delay > 0) await wait(delay);
      }
      response.end();
    },
  };
}
