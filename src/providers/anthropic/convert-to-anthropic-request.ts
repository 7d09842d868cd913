// OpenAI ChatRequest -> Anthropic Messages request: pure, with warnings for settings Anthropic lacks.
import type { ChatMessage, ChatRequest, ContentPart, ToolDefinition } from '../../core/chat-types.js';
import { CovenantError } from '../../core/errors.js';
import { applyAnthropicThinking } from './convert-anthropic-thinking.js';
import type {
  AnthropicContentBlock, AnthropicImageBlock, AnthropicMessage, AnthropicRequest, AnthropicTextBlock,
  AnthropicTool, AnthropicToolChoice,
} from './anthropic-api-schema.js';

/** Anthropic requires max_tokens; used when the client sets no limit. */
export const defaultMaxTokens = 4096;

/** OpenAI request fields with no Anthropic equivalent: ignored, with a warning when set. */
const ignoredFields = [
  'frequency_penalty', 'presence_penalty', 'logit_bias', 'logprobs', 'top_logprobs', 'seed',
  'modalities', 'audio', 'prediction', 'store', 'service_tier', 'web_search_options',
] as const;

export interface ConvertedRequest {
  body: AnthropicRequest;
  warnings: string[];
}

/**
 * Translate an OpenAI Chat Completions request into an Anthropic Messages request.
 * @example convertToAnthropicRequest({model: 'claude-x', messages: [{role: 'user', content: 'Hi'}]}, false)
 *   // {body: {model: 'claude-x', max_tokens: 4096, messages: [{role: 'user', content: 'Hi'}]}, warnings: []}
 */
export function convertToAnthropicRequest(request: ChatRequest, stream: boolean): ConvertedRequest {
  const warnings: string[] = [];
  if (typeof request.n === 'number' && request.n > 1) {
    throw new CovenantError('upstream_unsupported', `Anthropic returns one choice per request; n=${request.n} is not supported.`, { param: 'n' });
  }
  const system: AnthropicTextBlock[] = [];
  const messages: AnthropicMessage[] = [];
  request.messages.forEach((message, index) => {
    if (message.role === 'system' || message.role === 'developer') {
      // Anthropic takes one system prompt at the top: every system message joins it, block by block.
      const parts = typeof message.content === 'string' || message.content == null ? [message.content ?? ''] : message.content;
      parts.forEach((part, partIndex) => {
        const text = typeof part === 'string' ? part : textOf([part], `messages[${index}].content`, partIndex);
        if (text.length > 0) system.push({ type: 'text', text });
      });
      return;
    }
    const converted = convertMessage(message, index);
    // An assistant turn with neither text nor tool calls has nothing to say, and Anthropic rejects empty content.
    if (converted.role === 'assistant' && converted.content.length === 0) return;
    appendMerged(messages, converted);
  });

  const jsonInstruction = responseFormatInstruction(request, warnings);
  if (jsonInstruction) system.push({ type: 'text', text: jsonInstruction });

  const body: AnthropicRequest = {
    model: request.model,
    max_tokens: request.max_completion_tokens ?? request.max_tokens ?? defaultMaxTokens,
    messages,
  };
  if (system.length === 1) body.system = system[0].text;
  else if (system.length > 1) body.system = system;
  if (request.stop != null) {
    const stops = (Array.isArray(request.stop) ? request.stop : [request.stop]).filter((stop) => stop.length > 0);
    if (stops.length > 0) body.stop_sequences = stops;
  }
  if (request.temperature != null) {
    // OpenAI accepts 0..2, Anthropic 0..1.
    if (request.temperature > 1) warnings.push(`temperature ${request.temperature} is above Anthropic's maximum of 1; 1 was sent.`);
    body.temperature = Math.min(request.temperature, 1);
  }
  if (request.top_p != null) body.top_p = request.top_p;
  if (request.user) body.metadata = { user_id: request.user };
  if (request.tools && request.tools.length > 0) body.tools = request.tools.map(convertTool);
  const toolChoice = convertToolChoice(request.tool_choice, request.parallel_tool_calls === false);
  if (toolChoice && body.tools) body.tool_choice = toolChoice;
  applyAnthropicThinking(request, body, warnings);
  if (stream) body.stream = true;
  for (const field of ignoredFields) {
    // false (logprobs: false, store: false) asks for nothing, so there is nothing to warn about.
    if (request[field] != null && request[field] !== false) warnings.push(`${field} is not supported by Anthropic and was ignored.`);
  }
  return { body, warnings };
}

function convertMessage(message: ChatMessage, index: number): AnthropicMessage {
  const where = `messages[${index}]`;
  switch (message.role) {
    case 'user':
      return { role: 'user', content: convertUserContent(message.content, `${where}.content`) };
    case 'assistant': {
      const blocks: AnthropicContentBlock[] = [];
      const text = textOf(message.content, `${where}.content`);
      if (text.length > 0) blocks.push({ type: 'text', text });
      (message.tool_calls ?? []).forEach((call, callIndex) => {
        blocks.push({ type: 'tool_use', id: call.id, name: call.function.name,
          input: parseArguments(call.function.arguments, `${where}.tool_calls[${callIndex}].function.arguments`) });
      });
      return { role: 'assistant', content: blocks };
    }
    case 'tool':
      if (!message.tool_call_id) {
        throw new CovenantError('invalid_request', `${where}.tool_call_id is required on a tool message.`, { param: `${where}.tool_call_id` });
      }
      return { role: 'user', content: [{ type: 'tool_result', tool_use_id: message.tool_call_id,
        content: textOf(message.content, `${where}.content`) }] };
    default:
      throw new CovenantError('upstream_unsupported', `Anthropic has no equivalent for a "${message.role}" message (${where}).`, { param: `${where}.role` });
  }
}

function convertUserContent(content: ChatMessage['content'], where: string): string | AnthropicContentBlock[] {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  return content.map((part, index) => convertPart(part, `${where}[${index}]`));
}

function convertPart(part: ContentPart, where: string): AnthropicTextBlock | AnthropicImageBlock {
  if (part.type === 'text' && typeof part.text === 'string') return { type: 'text', text: part.text };
  if (part.type === 'image_url') {
    const url = (part as { image_url?: { url?: unknown } }).image_url?.url;
    if (typeof url !== 'string') {
      throw new CovenantError('invalid_request', `${where}.image_url.url must be a string.`, { param: `${where}.image_url.url` });
    }
    // data:<media type>;base64,<data> -> a base64 source; anything else is fetched by Anthropic from its URL.
    const data = /^data:([^;,]+);base64,(.*)$/s.exec(url);
    if (data) return { type: 'image', source: { type: 'base64', media_type: data[1], data: data[2] } };
    return { type: 'image', source: { type: 'url', url } };
  }
  throw new CovenantError('upstream_unsupported', `Anthropic does not accept content parts of type "${part.type}" (${where}).`, { param: `${where}.type` });
}

/** The text of a message's content; Anthropic's system prompt and tool results here take text only. */
function textOf(content: ChatMessage['content'], where: string, firstIndex = 0): string {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  return content.map((part, offset) => {
    if (part.type === 'text' && typeof part.text === 'string') return part.text;
    const at = `${where}[${firstIndex + offset}]`;
    throw new CovenantError('upstream_unsupported', `Only text is supported in ${where} for Anthropic; found "${part.type}" at ${at}.`, { param: at });
  }).join('');
}

function parseArguments(text: string, where: string): unknown {
  try {
    const parsed: unknown = JSON.parse(text === '' ? '{}' : text);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed;
  } catch {
    // fall through to the error below
  }
  throw new CovenantError('invalid_request', `${where} must be a JSON object for Anthropic tool_use input.`, { param: where });
}

/** Anthropic wants user and assistant turns to alternate: merge consecutive messages of the same role. */
function appendMerged(messages: AnthropicMessage[], next: AnthropicMessage): void {
  const last = messages[messages.length - 1];
  if (!last || last.role !== next.role) {
    messages.push(next);
    return;
  }
  last.content = [...asBlocks(last.content), ...asBlocks(next.content)];
}

function asBlocks(content: string | AnthropicContentBlock[]): AnthropicContentBlock[] {
  if (typeof content !== 'string') return content;
  return content.length > 0 ? [{ type: 'text', text: content }] : [];
}

function convertTool(tool: ToolDefinition, index: number): AnthropicTool {
  if (tool.type !== 'function' || !tool.function?.name) {
    throw new CovenantError('upstream_unsupported', `Anthropic supports only function tools; tools[${index}] is "${String(tool.type)}".`, { param: `tools[${index}]` });
  }
  const converted: AnthropicTool = {
    name: tool.function.name,
    input_schema: tool.function.parameters ?? { type: 'object', properties: {} },
  };
  if (tool.function.description) converted.description = tool.function.description;
  return converted;
}

function convertToolChoice(choice: unknown, disableParallel: boolean): AnthropicToolChoice | undefined {
  const parallel = disableParallel ? { disable_parallel_tool_use: true } : {};
  if (choice == null) return disableParallel ? { type: 'auto', ...parallel } : undefined;
  if (choice === 'auto') return { type: 'auto', ...parallel };
  if (choice === 'required') return { type: 'any', ...parallel };
  if (choice === 'none') return { type: 'none' };
  const named = choice as { type?: string; function?: { name?: unknown } };
  if (named.type === 'function' && typeof named.function?.name === 'string') {
    return { type: 'tool', name: named.function.name, ...parallel };
  }
  throw new CovenantError('invalid_request', 'tool_choice must be "auto", "required", "none" or {"type": "function", "function": {"name": ...}}.', { param: 'tool_choice' });
}

/** Anthropic has no JSON mode: the request is asked for JSON in the system prompt instead. */
function responseFormatInstruction(request: ChatRequest, warnings: string[]): string | undefined {
  const format = request.response_format;
  if (!format || format.type === 'text') return undefined;
  if (format.type === 'json_object') {
    warnings.push('response_format json_object is emulated for Anthropic with a system instruction.');
    return 'Respond with a single valid JSON object and nothing else.';
  }
  warnings.push('response_format json_schema is emulated for Anthropic with a system instruction; the schema is not enforced.');
  const schema = (format.json_schema as { schema?: unknown } | undefined)?.schema ?? format.json_schema;
  return `Respond with a single valid JSON object that conforms to this JSON Schema, and nothing else:\n${JSON.stringify(schema)}`;
}
