// POST /v1/responses ingress: a validated Responses request -> the gateway's internal OpenAI ChatRequest, with what only OpenAI itself can serve.
import type { ChatMessage, ChatRequest, ContentPart, ToolDefinition } from '../../core/chat-types.js';
import { parseResponsesRequest, type InputContentPart, type InputItem, type ResponsesRequest } from './responses-request-schema.js';

export interface TranslatedResponsesRequest {
  /** The request in the chat shape every provider adapter takes (budgets and guards read it too). */
  request: ChatRequest;
  /** The validated body as the client sent it: what a native OpenAI call passes on. */
  body: ResponsesRequest;
  stream: boolean;
  /** Settings dropped in translation, for the client to see (x-covenant-warnings). */
  warnings: string[];
  /**
   * Fields that only OpenAI's own Responses API can honour: stored state (previous_response_id, store, conversation),
   * built-in tools, background mode, items and parts that have no chat equivalent. Dropping them would change the
   * answer, so any other provider refuses the request with a 400 naming the first.
   */
  openAIOnly: string[];
}

/** Top-level fields the translation understands; any other is dropped with a warning (or passed on natively). */
const translatedFields = new Set([
  'model', 'input', 'instructions', 'max_output_tokens', 'stream', 'temperature', 'top_p', 'tools', 'tool_choice',
  'parallel_tool_calls', 'text', 'reasoning', 'user', 'store', 'previous_response_id', 'conversation', 'background', 'prompt',
]);

/**
 * Validate and translate a Responses request body. Throws a 400 CovenantError naming the field on bad input.
 * @example responsesRequestToChat({model: 'fast', input: 'Hi'}).request
 *   // {model: 'fast', messages: [{role: 'user', content: 'Hi'}]}
 */
export function responsesRequestToChat(body: unknown): TranslatedResponsesRequest {
  const parsed = parseResponsesRequest(body);
  const warnings: string[] = [];
  const openAIOnly: string[] = [];
  // Stored conversation state lives at OpenAI: no other provider can resume it.
  if (parsed.previous_response_id) openAIOnly.push('previous_response_id');
  if (parsed.conversation !== undefined && parsed.conversation !== null) openAIOnly.push('conversation');
  if (parsed.store === true) openAIOnly.push('store');
  // A reusable prompt is a template stored at OpenAI.
  if ((parsed as Record<string, unknown>).prompt != null) openAIOnly.push('prompt');
  if (parsed.background === true) openAIOnly.push('background');

  const messages: ChatMessage[] = [];
  if (parsed.instructions) messages.push({ role: 'system', content: parsed.instructions });
  if (typeof parsed.input === 'string') messages.push({ role: 'user', content: parsed.input });
  else (parsed.input ?? []).forEach((item, index) => translateItem(item, index, messages, warnings, openAIOnly));

  const stream = parsed.stream === true;
  const request: ChatRequest = { model: parsed.model, messages };
  if (parsed.max_output_tokens != null) request.max_tokens = parsed.max_output_tokens;
  if (stream) {
    request.stream = true;
    // response.completed always carries usage, so it is always asked for.
    request.stream_options = { include_usage: true };
  }
  if (parsed.temperature != null) request.temperature = parsed.temperature;
  if (parsed.top_p != null) request.top_p = parsed.top_p;
  if (parsed.parallel_tool_calls != null) request.parallel_tool_calls = parsed.parallel_tool_calls;
  if (parsed.user !== undefined) request.user = parsed.user;
  translateTools(parsed, request, openAIOnly);
  translateText(parsed, request, warnings);
  if (parsed.reasoning) {
    // Chat's reasoning_effort is the same setting; providers without it drop it with their own warning.
    if (parsed.reasoning.effort) request.reasoning_effort = parsed.reasoning.effort;
    if (parsed.reasoning.summary) warnings.push('reasoning.summary is only served by OpenAI and was ignored.');
  }
  for (const field of Object.keys(parsed)) {
    if (!translatedFields.has(field) && (parsed as Record<string, unknown>)[field] != null) {
      warnings.push(`${field} is not translated to this provider and was ignored.`);
    }
  }
  return { request, body: parsed, stream, warnings, openAIOnly };
}

function translateTools(parsed: ResponsesRequest, request: ChatRequest, openAIOnly: string[]): void {
  const tools: ToolDefinition[] = [];
  (parsed.tools ?? []).forEach((tool, index) => {
    if (tool.type !== 'function') {
      // Built-in tools (web_search, file_search, code_interpreter, …) run inside OpenAI's platform.
      openAIOnly.push(`tools[${index}] (type "${tool.type}")`);
      return;
    }
    const definition = tool as { name: string; description?: string | null; parameters?: Record<string, unknown> | null; strict?: boolean | null };
    tools.push({
      type: 'function',
      function: {
        name: definition.name,
        ...(definition.description != null ? { description: definition.description } : {}),
        ...(definition.parameters != null ? { parameters: definition.parameters } : {}),
        ...(definition.strict != null ? { strict: definition.strict } : {}),
      },
    });
  });
  if (tools.length > 0) request.tools = tools;
  const choice = parsed.tool_choice;
  if (choice === undefined) return;
  if (typeof choice === 'string') request.tool_choice = choice;
  else if (choice.type === 'function' && typeof choice.name === 'string') request.tool_choice = { type: 'function', function: { name: choice.name } };
  else openAIOnly.push(`tool_choice (type "${choice.type}")`);
}

/** text.format is chat's response_format (https://platform.openai.com/docs/guides/structured-outputs). */
function translateText(parsed: ResponsesRequest, request: ChatRequest, warnings: string[]): void {
  const format = parsed.text?.format;
  if (format?.type === 'json_object') request.response_format = { type: 'json_object' };
  else if (format?.type === 'json_schema') {
    const schema = format as { name: string; schema: Record<string, unknown>; description?: string; strict?: boolean | null };
    request.response_format = { type: 'json_schema', json_schema: {
      name: schema.name, schema: schema.schema,
      ...(schema.description !== undefined ? { description: schema.description } : {}),
      ...(schema.strict != null ? { strict: schema.strict } : {}),
    } };
  }
  if (parsed.text?.verbosity) warnings.push('text.verbosity is only served by OpenAI and was ignored.');
}

/**
 * One input item into chat messages. Function calls join the assistant message before them (chat wants the calls on
 * the assistant turn and each tool result right after it).
 */
function translateItem(item: InputItem, index: number, messages: ChatMessage[], warnings: string[], openAIOnly: string[]): void {
  const type = item.type ?? 'message';
  if (type === 'message' && 'role' in item) {
    const message = item as { role: 'user' | 'assistant' | 'system' | 'developer'; content: string | InputContentPart[] };
    // Developer messages are system messages for every provider but OpenAI's newest models.
    const role = message.role === 'developer' ? 'system' : message.role;
    if (typeof message.content === 'string') {
      messages.push({ role, content: message.content });
      return;
    }
    const parts: ContentPart[] = [];
    message.content.forEach((part, partIndex) => {
      const known = part as { type: string; text?: string; refusal?: string; image_url?: string | null; detail?: string };
      if (known.type === 'input_text' || known.type === 'output_text') parts.push({ type: 'text', text: known.text ?? '' });
      else if (known.type === 'refusal') parts.push({ type: 'text', text: known.refusal ?? '' });
      else if (known.type === 'input_image' && typeof known.image_url === 'string') {
        parts.push({ type: 'image_url', image_url: { url: known.image_url, ...(known.detail ? { detail: known.detail } : {}) } });
      } else openAIOnly.push(`input[${index}].content[${partIndex}] (type "${known.type}"${known.type === 'input_image' ? ' by file_id' : ''})`);
    });
    if (role === 'user') messages.push({ role, content: parts.length === 1 && parts[0].type === 'text' ? (parts[0] as { text: string }).text : parts });
    else messages.push({ role, content: parts.map((part) => (part.type === 'text' ? (part as { text: string }).text : '')).join('') });
    return;
  }
  if (type === 'function_call') {
    const call = item as { call_id: string; name: string; arguments: string };
    const toolCall = { id: call.call_id, type: 'function' as const, function: { name: call.name, arguments: call.arguments } };
    const last = messages[messages.length - 1];
    if (last?.role === 'assistant') {
      last.tool_calls = [...(last.tool_calls ?? []), toolCall];
      if (last.content === '') last.content = null;
    } else messages.push({ role: 'assistant', content: null, tool_calls: [toolCall] });
    return;
  }
  if (type === 'function_call_output') {
    const output = item as { call_id: string; output: string | { type: string; text?: unknown }[] };
    let content: string;
    if (typeof output.output === 'string') content = output.output;
    else {
      if (output.output.some((part) => part.type !== 'input_text')) warnings.push(`input[${index}].output: only text parts are carried over.`);
      content = output.output.map((part) => (part.type === 'input_text' && typeof part.text === 'string' ? part.text : '')).join('');
    }
    messages.push({ role: 'tool', tool_call_id: output.call_id, content });
    return;
  }
  if (type === 'reasoning') {
    warnings.push(`input[${index}]: reasoning items are only understood by OpenAI and were left out.`);
    return;
  }
  openAIOnly.push(`input[${index}] (type "${type}")`);
}
