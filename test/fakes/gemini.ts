// Fake Gemini API upstream (generateContent, streamGenerateContent SSE, batchEmbedContents, countTokens) that keeps Google's bill.
//
// Deterministic rules (tests assert them):
// - Tokens: the fake counts text with o200k_base tiktoken (Gemini's own tokenizer is not public): prompt = tokens of every
//   text, functionCall (name + JSON args) and functionResponse (name + JSON response) part and the system instruction,
//   + tokens of the function declarations' JSON, + 258 per inline/file media part. No per-message overhead.
// - Reply: "You said: <text of the last user turn>", options.outputTokens (default 16) tokens, cut by
//   generationConfig.maxOutputTokens (finishReason MAX_TOKENS) or stopSequences (STOP); candidateCount candidates.
// - Function calling (tools given, mode not NONE): calls allowedFunctionNames[0] or the first declaration, unless mode is
//   AUTO/absent and the last turn holds a functionResponse (then text). Arguments as in tokens.ts argumentsFor().
// - responseMimeType application/json: {"reply": <text>}, or built from responseSchema.
// - thoughtsTokens (option) are reported as thoughtsTokenCount, billed as output, and count within maxOutputTokens.
// - generationConfig.thinkingConfig.thinkingBudget (an integer from 0 to 24576, else 400, as Gemini 2.5 Flash) replaces
//   the option: the fake thinks the whole budget (the worst case), capped at maxOutputTokens, thoughts not shown.
// - Bill: in full once generation starts (the 200 goes out), as the OpenAI fake does.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson, startServer, type FakeBehaviour, type FakeBill, type FakePrice, type RecordedRequest } from './openai.js';
import { argumentsFor, countText, cutAtStop, embeddingVector, generatePieces, splitPieces, type TokenCounting } from './tokens.js';

export interface FakeGeminiOptions {
  /** Require this key in x-goog-api-key (or ?key=). */
  apiKey?: string;
  outputTokens?: number;
  prices?: Record<string, FakePrice>;
  countPrompt?: TokenCounting;
  /** Reported as thoughtsTokenCount on every candidate set. */
  thoughtsTokens?: number;
  /** Reported as cachedContentTokenCount (capped at the prompt). */
  cachedTokens?: number;
  /** The modelVersion reported, by requested model id; default: echo. */
  modelVersions?: Record<string, string>;
  /** Gemini 3 behaviour: function calls carry a thoughtSignature, and a request whose model turn has a functionCall without it gets 400. */
  thoughtSignatures?: boolean;
  behaviour?: FakeBehaviour;
  recordRequests?: boolean;
}

export interface FakeGemini {
  /** Base URL without /v1beta, for the adapter's baseUrl. */
  url: string;
  port: number;
  bill: FakeBill;
  requests: RecordedRequest[];
  setBehaviour(behaviour: FakeBehaviour): void;
  /** Change the modelVersion reported from the next request on (a silent update behind the same model id). */
  setModelVersions(versions: Record<string, string>): void;
  reset(): void;
  close(): Promise<void>;
}

/** Counted per media part, after Gemini's documented 258 tokens for an image up to 384 px. */
export const mediaPartTokens = 258;

const statusNames: Record<number, string> = {
  400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 409: 'ABORTED',
  429: 'RESOURCE_EXHAUSTED', 499: 'CANCELLED', 500: 'INTERNAL', 503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED',
};
const requestFields = new Set(['contents', 'systemInstruction', 'tools', 'toolConfig', 'generationConfig', 'safetySettings', 'cachedContent']);
const generationFields = new Set(['stopSequences', 'responseMimeType', 'responseSchema', 'responseJsonSchema', 'candidateCount', 'maxOutputTokens', 'temperature', 'topP', 'topK', 'seed', 'presencePenalty', 'frequencyPenalty', 'responseLogprobs', 'logprobs', 'thinkingConfig', 'responseModalities', 'mediaResolution']);
const schemaFields = new Set(['type', 'format', 'title', 'description', 'nullable', 'enum', 'maxItems', 'minItems', 'properties', 'required', 'minProperties', 'maxProperties', 'minLength', 'maxLength', 'pattern', 'example', 'anyOf', 'propertyOrdering', 'default', 'items', 'minimum', 'maximum']);

interface Part { text?: string; thought?: boolean; thoughtSignature?: string; functionCall?: { name: string; args?: unknown }; functionResponse?: { name: string; response?: unknown }; inlineData?: unknown; fileData?: unknown }
interface Content { role?: string; parts?: Part[] }
interface Declaration { name: string; description?: string; parameters?: Record<string, unknown> }
interface GenerateBody {
  contents?: Content[];
  systemInstruction?: Content;
  tools?: { functionDeclarations?: Declaration[] }[];
  toolConfig?: { functionCallingConfig?: { mode?: string; allowedFunctionNames?: string[] } };
  generationConfig?: { stopSequences?: string[]; responseMimeType?: string; responseSchema?: Record<string, unknown>; candidateCount?: number; maxOutputTokens?: number; thinkingConfig?: { thinkingBudget?: unknown } };
  [key: string]: unknown;
}
interface Planned { index: number; pieces: string[]; call?: { name: string; args: Record<string, unknown> }; finishReason: 'STOP' | 'MAX_TOKENS' }

export class GeminiRequestError extends Error {
  constructor(readonly status: number, message: string) { super(message); }
}

/** Start the fake on 127.0.0.1 with a random port. */
export async function startFakeGemini(options: FakeGeminiOptions = {}): Promise<FakeGemini> {
  const counting = options.countPrompt ?? 'tiktoken';
  const issuedSignatures = new Set<string>();
  let sequence = 0;
  const errorBody = (status: number, message: string) => ({ error: { code: status, message, status: statusNames[status] ?? 'UNKNOWN' } });

  const core = await startServer({
    behaviour: options.behaviour,
    recordRequests: options.recordRequests,
    prices: options.prices,
    authorize: (request) => authorize(request, options.apiKey),
    errorBody: (status, message) => errorBody(status, message),
    isStream: (request) => (request.url ?? '').includes(':streamGenerateContent'),
    garbage: (streaming) => (streaming ? 'data: {"candidates": [{"content": \n\n' : '<html><body>Service Unavailable</body></html>'),
    route: async (request, response, body) => {
      const url = new URL(request.url ?? '/', 'http://fake');
      if (request.method === 'GET' && url.pathname === '/v1beta/models') {
        sendJson(response, 200, { models: ['gemini-2.0-flash', 'gemini-2.5-flash', 'text-embedding-004'].map((name) => ({ name: `models/${name}`, displayName: name })) });
        return;
      }
      const match = /^\/v1beta\/((?:models|tunedModels)\/[^:]+):(\w+)$/.exec(decodeURIComponent(url.pathname));
      if (request.method !== 'POST' || !match) {
        sendJson(response, 404, errorBody(404, `The requested URL ${url.pathname} was not found on this server.`));
        return;
      }
      const model = match[1].replace(/^models\//, '');
      try {
        if (match[2] === 'generateContent') return await generate(response, model, body as GenerateBody, 'json');
        if (match[2] === 'streamGenerateContent') return await generate(response, model, body as GenerateBody, url.searchParams.get('alt') === 'sse' ? 'sse' : 'array');
        if (match[2] === 'countTokens') return sendJson(response, 200, { totalTokens: countPrompt(validate(body as GenerateBody)) });
        if (match[2] === 'batchEmbedContents') return embed(response, model, body as { requests?: { content?: Content; outputDimensionality?: number }[] });
        sendJson(response, 404, errorBody(404, `Method ${match[2]} is not found for models/${model}.`));
      } catch (error) {
        if (error instanceof GeminiRequestError) return sendJson(response, error.status, errorBody(error.status, error.message));
        throw error;
      }
    },
  });

  function validate(body: GenerateBody): GenerateBody {
    for (const key of Object.keys(body ?? {})) {
      if (!requestFields.has(key)) throw new GeminiRequestError(400, `Invalid JSON payload received. Unknown name "${key}": Cannot find field.`);
    }
    for (const key of Object.keys(body.generationConfig ?? {})) {
      if (!generationFields.has(key)) throw new GeminiRequestError(400, `Invalid JSON payload received. Unknown name "${key}" at 'generation_config': Cannot find field.`);
    }
    if (!Array.isArray(body.contents) || body.contents.length === 0) throw new GeminiRequestError(400, '* GenerateContentRequest.contents: contents is not specified');
    body.contents.forEach((content, index) => {
      if (content.role !== undefined && content.role !== 'user' && content.role !== 'model') {
        throw new GeminiRequestError(400, `Please use a valid role: user, model. (contents[${index}].role "${content.role}")`);
      }
      if (!Array.isArray(content.parts) || content.parts.length === 0) throw new GeminiRequestError(400, `* GenerateContentRequest.contents[${index}].parts: contents.parts must not be empty.`);
      for (const part of content.parts) {
        if (options.thoughtSignatures && content.role === 'model' && part.functionCall && !issuedSignatures.has(part.thoughtSignature ?? '')) {
          throw new GeminiRequestError(400, `Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly. Additional data, function call \`${part.functionCall.name}\`, position ${index + 1}. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.`);
        }
      }
    });
    (body.tools ?? []).forEach((tool, toolIndex) => (tool.functionDeclarations ?? []).forEach((declaration, index) => {
      if (declaration.parameters) checkSchema(declaration.parameters, `tools[${toolIndex}].function_declarations[${index}].parameters`);
    }));
    if (body.generationConfig?.responseSchema) checkSchema(body.generationConfig.responseSchema, 'generation_config.response_schema');
    const budget = body.generationConfig?.thinkingConfig?.thinkingBudget;
    if (budget !== undefined && (!Number.isInteger(budget) || (budget as number) < 0 || (budget as number) > 24576)) {
      throw new GeminiRequestError(400, 'The thinking budget is invalid. This model only supports thinking budgets in the range [0, 24576].');
    }
    return body;
  }

  /** Thought tokens of a request: the whole thinking budget when one is given, within maxOutputTokens; else the option. */
  function thoughtsFor(body: GenerateBody): number {
    const config = body.generationConfig ?? {};
    const budget = config.thinkingConfig?.thinkingBudget;
    if (typeof budget !== 'number') return options.thoughtsTokens ?? 0;
    return typeof config.maxOutputTokens === 'number' ? Math.min(budget, config.maxOutputTokens) : budget;
  }

  function countPrompt(body: GenerateBody): number {
    let total = 0;
    const countParts = (parts: Part[] | undefined) => {
      for (const part of parts ?? []) {
        if (typeof part.text === 'string') total += countText(part.text, 'gemini', counting);
        if (part.functionCall) total += countText(part.functionCall.name + JSON.stringify(part.functionCall.args ?? {}), 'gemini', counting);
        if (part.functionResponse) total += countText(part.functionResponse.name + JSON.stringify(part.functionResponse.response ?? {}), 'gemini', counting);
        if (part.inlineData || part.fileData) total += mediaPartTokens;
      }
    };
    countParts(body.systemInstruction?.parts);
    for (const content of body.contents ?? []) countParts(content.parts);
    const declarations = (body.tools ?? []).flatMap((tool) => tool.functionDeclarations ?? []);
    if (declarations.length > 0) total += countText(JSON.stringify(declarations), 'gemini', counting);
    return total;
  }

  function plan(body: GenerateBody): Planned[] {
    const config = body.generationConfig ?? {};
    const contents = body.contents ?? [];
    const lastUser = [...contents].reverse().find((content) => content.role !== 'model' && (content.parts ?? []).some((part) => typeof part.text === 'string'));
    const source = (lastUser?.parts ?? []).map((part) => part.text ?? '').join('');
    const limit = typeof config.maxOutputTokens === 'number' ? config.maxOutputTokens : Number.POSITIVE_INFINITY;
    const room = Math.max(0, limit - Math.min(thoughtsFor(body), limit));
    const declarations = (body.tools ?? []).flatMap((tool) => tool.functionDeclarations ?? []);
    const calling = body.toolConfig?.functionCallingConfig;
    const lastTurnAnswersCall = (contents[contents.length - 1]?.parts ?? []).some((part) => part.functionResponse);
    const candidates: Planned[] = [];
    for (let index = 0; index < (config.candidateCount ?? 1); index++) {
      if (declarations.length > 0 && calling?.mode !== 'NONE' && !(calling?.mode !== 'ANY' && lastTurnAnswersCall)) {
        const name = calling?.allowedFunctionNames?.[0] ?? declarations[0].name;
        const declaration = declarations.find((candidate) => candidate.name === name);
        const args = argumentsFor(declaration?.parameters, source);
        candidates.push({ index, pieces: splitPieces(name + JSON.stringify(args), 'gemini', counting), call: { name, args }, finishReason: 'STOP' });
        continue;
      }
      let all: string[];
      let natural: number;
      if (config.responseMimeType === 'application/json') {
        all = splitPieces(JSON.stringify(config.responseSchema ? argumentsFor(config.responseSchema, source) : { reply: source }), 'gemini', counting);
        natural = all.length;
      } else {
        natural = options.outputTokens ?? 16;
        all = generatePieces(index === 0 ? `You said: ${source}` : `[${index}] You said: ${source}`, Math.min(natural, room), 'gemini', counting);
      }
      let pieces = all.slice(0, Math.min(natural, room));
      let finishReason: Planned['finishReason'] = pieces.length < natural ? 'MAX_TOKENS' : 'STOP';
      const cut = cutAtStop(pieces, config.stopSequences ?? []);
      if (cut) { pieces = cut; finishReason = 'STOP'; }
      candidates.push({ index, pieces, finishReason });
    }
    return candidates;
  }

  async function generate(response: ServerResponse, model: string, body: GenerateBody, mode: 'json' | 'sse' | 'array'): Promise<void> {
    validate(body);
    const promptTokens = countPrompt(body);
    const candidates = plan(body);
    const thoughts = thoughtsFor(body);
    const cached = Math.min(options.cachedTokens ?? 0, promptTokens);
    const candidateTokens = candidates.reduce((sum, candidate) => sum + candidate.pieces.length, 0);
    const usageFor = (outputSoFar: number) => ({
      promptTokenCount: promptTokens,
      candidatesTokenCount: outputSoFar,
      totalTokenCount: promptTokens + outputSoFar + thoughts,
      ...(cached > 0 ? { cachedContentTokenCount: cached } : {}),
      promptTokensDetails: [{ modality: 'TEXT', tokenCount: promptTokens }],
      ...(thoughts > 0 ? { thoughtsTokenCount: thoughts } : {}),
    });
    const responseId = `fakeResponse${++sequence}`;
    const modelVersion = options.modelVersions?.[model] ?? model;
    const callPart = (candidate: Planned): Part => {
      const part: Part = { functionCall: { name: candidate.call!.name, args: candidate.call!.args } };
      if (options.thoughtSignatures) {
        part.thoughtSignature = Buffer.from(`${responseId}/${candidate.index}`).toString('base64');
        issuedSignatures.add(part.thoughtSignature);
      }
      return part;
    };
    core.charge(model, promptTokens, candidateTokens + thoughts, cached);

    if (mode === 'json') {
      sendJson(response, 200, {
        candidates: candidates.map((candidate) => ({
          content: { parts: candidate.call ? [callPart(candidate)] : [{ text: candidate.pieces.join('') }], role: 'model' },
          finishReason: candidate.finishReason, index: candidate.index,
        })),
        usageMetadata: usageFor(candidateTokens), modelVersion, responseId,
      });
      return;
    }
    // Streamed: a few tokens per event, usage so far on each, finishReason and the full usage on the candidate's last event.
    const events: unknown[] = [];
    let emitted = 0;
    for (const candidate of candidates) {
      const event = (parts: Part[], last: boolean) => ({
        candidates: [{ content: { parts, role: 'model' }, ...(last ? { finishReason: candidate.finishReason } : {}), index: candidate.index }],
        usageMetadata: usageFor(emitted), modelVersion, responseId,
      });
      if (candidate.call) {
        emitted += candidate.pieces.length;
        events.push(event([callPart(candidate)], false), event([{ text: '' }], true));
        continue;
      }
      if (candidate.pieces.length === 0) events.push(event([{ text: '' }], true));
      for (let start = 0; start < candidate.pieces.length; start += 4) {
        const slice = candidate.pieces.slice(start, start + 4);
        emitted += slice.length;
        events.push(event([{ text: slice.join('') }], start + 4 >= candidate.pieces.length));
      }
    }
    if (mode === 'sse') {
      await core.writeStream(response, events.map((event) => `data: ${JSON.stringify(event)}\r\n\r\n`));
      return;
    }
    // Without alt=sse the API streams one JSON array.
    await core.writeStream(response, events.map((event, index) => `${index === 0 ? '[' : ',\r\n'}${JSON.stringify(event)}${index === events.length - 1 ? ']' : ''}`));
  }

  function embed(response: ServerResponse, model: string, body: { requests?: { content?: Content; outputDimensionality?: number }[] }): void {
    if (!Array.isArray(body?.requests) || body.requests.length === 0) throw new GeminiRequestError(400, '* BatchEmbedContentsRequest.requests: requests is not specified');
    let tokens = 0;
    const embeddings = body.requests.map((item) => {
      const text = (item.content?.parts ?? []).map((part) => part.text ?? '').join('');
      tokens += countText(text, 'gemini', counting);
      return { values: embeddingVector(text, item.outputDimensionality ?? (model.includes('gemini-embedding') ? 3072 : 768)) };
    });
    core.charge(model, tokens, 0, 0);
    sendJson(response, 200, { embeddings });
  }

  return { url: core.baseUrl, port: core.port, bill: core.bill, requests: core.requests, setBehaviour: core.setBehaviour,
    setModelVersions(versions) { options.modelVersions = versions; }, reset: core.reset, close: core.close };
}

function authorize(request: IncomingMessage, apiKey: string | undefined): { status: number; body: unknown } | undefined {
  if (apiKey === undefined) return undefined;
  const given = (request.headers['x-goog-api-key'] as string | undefined) ?? new URL(request.url ?? '/', 'http://fake').searchParams.get('key') ?? undefined;
  if (given === undefined) {
    return { status: 403, body: { error: { code: 403, message: 'Method doesn\'t allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.', status: 'PERMISSION_DENIED' } } };
  }
  if (given !== apiKey) {
    return { status: 400, body: { error: { code: 400, message: 'API key not valid. Please pass a valid API key.', status: 'INVALID_ARGUMENT', details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com' }] } } };
  }
  return undefined;
}

/** Gemini rejects Schema fields outside its OpenAPI subset, naming the field: so does the fake. */
function checkSchema(schema: Record<string, unknown>, where: string): void {
  for (const [key, value] of Object.entries(schema)) {
    if (!schemaFields.has(key)) throw new GeminiRequestError(400, `Invalid JSON payload received. Unknown name "${key}" at '${where}': Cannot find field.`);
    if (key === 'properties' && value && typeof value === 'object') {
      for (const [name, property] of Object.entries(value as Record<string, Record<string, unknown>>)) checkSchema(property, `${where}.properties[${name}].value`);
    }
    if (key === 'items' && value && typeof value === 'object') checkSchema(value as Record<string, unknown>, `${where}.items`);
    if (key === 'anyOf' && Array.isArray(value)) value.forEach((item, index) => checkSchema(item as Record<string, unknown>, `${where}.any_of[${index}]`));
  }
}
