// The fake OpenAI's POST /v1/responses: the Responses API's JSON and SSE events as documented, billed with the fake's own arithmetic.
//
// Deterministic rules (tests assert them), the same as the fake's chat completions:
// - Reply text: "You said: <last user text>" filling the output; a function call when tools are given (see the chat
//   rules in openai.ts: the named tool, else the first, unless tool_choice is auto/absent and the last item is a
//   function_call_output); text.format json_schema: JSON built from the schema.
// - Output length = min(max_output_tokens, outputTokens) tokens, reasoning tokens included; status "incomplete"
//   (reason max_output_tokens) when cut. max_output_tokens below 16 is a 400, as OpenAI's API answers.
// - Prompt tokens: the input items as chat messages (instructions first as a system message, then for a
//   previous_response_id the stored conversation before it), counted by the cookbook rule of tokens.ts.
// - Stored: every response unless store is false, for previous_response_id; an unknown id is a 400.
// - Bill: prompt + the whole planned output once the 200 headers go out.
import type { ServerResponse } from 'node:http';
import type { FakeServerCore } from './openai.js';
import { argumentsFor, countChatPrompt, generatePieces, lastUserText, splitPieces, type TokenCounting } from './tokens.js';

export interface ResponsesFakeSettings {
  counting: TokenCounting;
  outputTokens: number;
  reasoningTokens: number;
  cachedPromptTokens: number;
  modelVersions?: Record<string, string>;
}

type Message = Record<string, unknown>;
interface Tool { type?: string; name?: string; function?: { name?: string; parameters?: Record<string, unknown> } }

/** The documented minimum of max_output_tokens (OpenAI answers 400 below it). */
export const minimumOutputTokens = 16;

export function createResponsesHandler(core: () => FakeServerCore, settings: ResponsesFakeSettings, send: (response: ServerResponse, status: number, body: unknown) => void) {
  const stored = new Map<string, Message[]>();
  let sequence = 0;

  const invalid = (response: ServerResponse, message: string, param: string | null) =>
    send(response, 400, { error: { message, type: 'invalid_request_error', param, code: null } });

  return async function responses(response: ServerResponse, body: Record<string, unknown>): Promise<void> {
    const model = body.model;
    if (typeof model !== 'string' || model === '') return invalid(response, 'Missing required parameter: \'model\'.', 'model');
    const limitField = body.max_output_tokens;
    if (typeof limitField === 'number' && limitField < minimumOutputTokens) {
      return invalid(response, `Invalid 'max_output_tokens': integer below minimum value. Expected a value >= ${minimumOutputTokens}, but got ${limitField} instead.`, 'max_output_tokens');
    }
    const messages: Message[] = [];
    if (typeof body.instructions === 'string') messages.push({ role: 'system', content: body.instructions });
    if (typeof body.previous_response_id === 'string') {
      const earlier = stored.get(body.previous_response_id);
      if (!earlier) return invalid(response, `Previous response with id '${body.previous_response_id}' not found.`, 'previous_response_id');
      messages.push(...earlier);
    }
    const input: Message[] = typeof body.input === 'string' ? [{ role: 'user', content: body.input }] : Array.isArray(body.input) ? (body.input as Message[]) : [];
    for (const item of input) messages.push(messageOf(item));
    const tools = (Array.isArray(body.tools) ? (body.tools as Tool[]) : []).filter((tool) => tool.type === 'function')
      .map((tool) => ({ type: 'function', function: { name: tool.name, parameters: (tool as { parameters?: Record<string, unknown> }).parameters } }));
    const promptTokens = countChatPrompt(messages, tools.length > 0 ? tools : undefined, model, settings.counting);
    const cachedTokens = Math.min(settings.cachedPromptTokens, promptTokens);
    const limit = typeof limitField === 'number' ? limitField : Number.POSITIVE_INFINITY;
    const reasoningTokens = Math.min(settings.reasoningTokens, limit);
    const room = Math.max(0, limit - reasoningTokens);
    const source = lastUserText(messages);
    const id = `resp_fake${++sequence}`;
    const toolName = pickTool(body.tool_choice, tools, input);
    let pieces: string[];
    let natural: number;
    let call: { name: string; callId: string } | undefined;
    const format = (body.text as { format?: { type?: string; schema?: Record<string, unknown> } } | undefined)?.format;
    if (toolName !== undefined) {
      const tool = tools.find((candidate) => candidate.function.name === toolName);
      const all = splitPieces(JSON.stringify(argumentsFor(tool?.function.parameters, source)), model, settings.counting);
      natural = all.length;
      pieces = all.slice(0, room);
      call = { name: toolName, callId: `call_fake${sequence}` };
    } else if (format?.type === 'json_schema' || format?.type === 'json_object') {
      const all = splitPieces(JSON.stringify(format.type === 'json_object' ? { reply: source } : argumentsFor(format.schema, source)), model, settings.counting);
      natural = all.length;
      pieces = all.slice(0, room);
    } else {
      natural = settings.outputTokens;
      pieces = generatePieces(`You said: ${source}`, Math.min(natural, room), model, settings.counting);
    }
    const incomplete = pieces.length < natural;
    const outputTokens = pieces.length + reasoningTokens;
    const usage = {
      input_tokens: promptTokens, input_tokens_details: { cached_tokens: cachedTokens },
      output_tokens: outputTokens, output_tokens_details: { reasoning_tokens: reasoningTokens },
      total_tokens: promptTokens + outputTokens,
    };
    const text = pieces.join('');
    const itemStatus = incomplete ? 'incomplete' : 'completed';
    const item = call
      ? { id: `fc_fake${sequence}`, type: 'function_call', status: itemStatus, arguments: text, call_id: call.callId, name: call.name }
      : { id: `msg_fake${sequence}`, type: 'message', status: itemStatus, role: 'assistant', content: [{ type: 'output_text', annotations: [], logprobs: [], text }] };
    const createdAt = Math.floor(Date.now() / 1000);
    const head = {
      id, object: 'response', created_at: createdAt, error: null, incomplete_details: null,
      instructions: body.instructions ?? null, max_output_tokens: body.max_output_tokens ?? null,
      model: settings.modelVersions?.[model] ?? model, parallel_tool_calls: body.parallel_tool_calls ?? true,
      previous_response_id: body.previous_response_id ?? null, reasoning: { effort: null, summary: null },
      store: body.store !== false, temperature: body.temperature ?? 1, text: body.text ?? { format: { type: 'text' } },
      tool_choice: body.tool_choice ?? 'auto', tools: body.tools ?? [], top_p: body.top_p ?? 1, truncation: 'disabled',
      user: body.user ?? null, metadata: body.metadata ?? {},
    };
    const final = {
      ...head, status: incomplete ? 'incomplete' : 'completed',
      incomplete_details: incomplete ? { reason: 'max_output_tokens' } : null, output: [item], usage,
    };
    if (body.store !== false) stored.set(id, [...messages, call
      ? { role: 'assistant', content: null, tool_calls: [{ id: call.callId, type: 'function', function: { name: call.name, arguments: text } }] }
      : { role: 'assistant', content: text }]);
    core().charge(model, promptTokens, outputTokens, cachedTokens);
    if (body.stream !== true) return send(response, 200, final);
    await core().writeStream(response, streamEvents({ ...head, status: 'in_progress', output: [], usage: null }, final, item, pieces));
  };
}

/** An input item as a chat message, for counting: messages keep their text, calls and their outputs count like chat's. */
function messageOf(item: Message): Message {
  if (item.type === 'function_call') {
    return { role: 'assistant', content: null, tool_calls: [{ id: item.call_id, type: 'function', function: { name: item.name, arguments: item.arguments } }] };
  }
  if (item.type === 'function_call_output') return { role: 'tool', tool_call_id: item.call_id, content: typeof item.output === 'string' ? item.output : JSON.stringify(item.output) };
  const content = Array.isArray(item.content)
    ? (item.content as { type?: string; text?: string; image_url?: string }[]).map((part) => (part.type === 'input_image' ? { type: 'image_url' } : { type: 'text', text: part.text ?? '' }))
    : item.content;
  return { role: item.role, content };
}

function pickTool(choice: unknown, tools: { function: { name?: string } }[], input: Message[]): string | undefined {
  if (tools.length === 0 || choice === 'none') return undefined;
  if (choice && typeof choice === 'object') return (choice as { name?: string }).name;
  if (choice !== 'required' && input[input.length - 1]?.type === 'function_call_output') return undefined;
  return tools[0].function.name;
}

/** The documented event sequence (https://platform.openai.com/docs/api-reference/responses-streaming), numbered from 0. */
function streamEvents(start: Record<string, unknown>, final: Record<string, unknown>, item: Record<string, unknown>, pieces: string[]): string[] {
  let number = 0;
  const frames: string[] = [];
  const event = (type: string, fields: Record<string, unknown>) => {
    frames.push(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: number++, ...fields })}\n\n`);
  };
  const itemId = item.id as string;
  event('response.created', { response: start });
  event('response.in_progress', { response: start });
  if (item.type === 'function_call') {
    event('response.output_item.added', { output_index: 0, item: { ...item, status: 'in_progress', arguments: '' } });
    for (const piece of pieces) event('response.function_call_arguments.delta', { item_id: itemId, output_index: 0, delta: piece });
    event('response.function_call_arguments.done', { item_id: itemId, output_index: 0, arguments: item.arguments });
  } else {
    const text = pieces.join('');
    event('response.output_item.added', { output_index: 0, item: { ...item, status: 'in_progress', content: [] } });
    event('response.content_part.added', { item_id: itemId, output_index: 0, content_index: 0, part: { type: 'output_text', annotations: [], logprobs: [], text: '' } });
    for (const piece of pieces) event('response.output_text.delta', { item_id: itemId, output_index: 0, content_index: 0, delta: piece, logprobs: [] });
    event('response.output_text.done', { item_id: itemId, output_index: 0, content_index: 0, text, logprobs: [] });
    event('response.content_part.done', { item_id: itemId, output_index: 0, content_index: 0, part: { type: 'output_text', annotations: [], logprobs: [], text } });
  }
  event('response.output_item.done', { output_index: 0, item });
  event(final.status === 'incomplete' ? 'response.incomplete' : 'response.completed', { response: final });
  return frames;
}
