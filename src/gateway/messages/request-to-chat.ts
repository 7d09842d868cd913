// POST /v1/messages ingress: a validated Anthropic Messages request -> the gateway's internal OpenAI ChatRequest.
import type { ChatMessage, ChatRequest, ContentPart, ToolCall } from '../../core/chat-types.js';
import { parseMessagesRequest, type ContentBlockParam, type MessageParam, type MessagesRequest } from './messages-request-schema.js';

export interface TranslatedMessagesRequest {
  request: ChatRequest;
  /** Whether the client asked for SSE. */
  stream: boolean;
  /** Settings dropped in translation, for the client to see. */
  warnings: string[];
}

/** Top-level Anthropic fields the translation understands; any other is dropped with a warning. */
const translatedFields = new Set([
  'model', 'max_tokens', 'messages', 'system', 'stop_sequences', 'stream', 'temperature', 'top_p',
  'tools', 'tool_choice', 'metadata',
]);

/**
 * Validate and translate an Anthropic request body. Throws a 400 CovenantError naming the field on bad input.
 * @example anthropicRequestToChat({model: 'fast', max_tokens: 100, messages: [{role: 'user', content: 'Hi'}]})
 *   // {request: {model: 'fast', max_tokens: 100, messages: [{role: 'user', content: 'Hi'}]}, stream: false, warnings: []}
 */
export function anthropicRequestToChat(body: unknown): TranslatedMessagesRequest {
  const parsed = parseMessagesRequest(body);
  const warnings: string[] = [];
  const messages: ChatMessage[] = [];
  if (typeof parsed.system === 'string' && parsed.system.length > 0) messages.push({ role: 'system', content: parsed.system });
  else if (Array.isArray(parsed.system) && parsed.system.length > 0) {
    messages.push({ role: 'system', content: textContent(parsed.system.map((block) => ({ type: 'text', text: block.text }))) });
  }
  for (const message of parsed.messages) messages.push(...translateMessage(message, warnings));

  const stream = parsed.stream === true;
  const request: ChatRequest = { model: parsed.model, messages, max_tokens: parsed.max_tokens };
  if (stream) {
    request.stream = true;
    // Anthropic clients always get usage in message_delta, so it is always asked for.
    request.stream_options = { include_usage: true };
  }
  if (parsed.stop_sequences && parsed.stop_sequences.length > 0) request.stop = parsed.stop_sequences;
  if (parsed.temperature !== undefined) request.temperature = parsed.temperature;
  if (parsed.top_p !== undefined) request.top_p = parsed.top_p;
  if (parsed.metadata?.user_id) request.user = parsed.metadata.user_id;
  if (parsed.tools && parsed.tools.length > 0) {
    request.tools = parsed.tools.map((tool) => ({
      type: 'function' as const,
      function: {
        name: tool.name,
        ...(tool.description !== undefined ? { description: tool.description } : {}),
        parameters: tool.input_schema,
      },
    }));
  }
  translateToolChoice(parsed, request);
  for (const field of Object.keys(parsed)) {
    if (!translatedFields.has(field)) warnings.push(`${field} is not supported by Covenant's /v1/messages and was ignored.`);
  }
  return { request, stream, warnings };
}

function translateToolChoice(parsed: MessagesRequest, request: ChatRequest): void {
  const choice = parsed.tool_choice;
  if (!choice) return;
  if (choice.type === 'auto') request.tool_choice = 'auto';
  else if (choice.type === 'any') request.tool_choice = 'required';
  else if (choice.type === 'none') request.tool_choice = 'none';
  else request.tool_choice = { type: 'function', function: { name: choice.name } };
  if ('disable_parallel_tool_use' in choice && choice.disable_parallel_tool_use === true) request.parallel_tool_calls = false;
}

/**
 * One Anthropic turn can become several OpenAI messages: tool_result blocks become `tool` messages
 * (which OpenAI wants right after the assistant's tool calls), followed by the rest of the user turn.
 */
function translateMessage(message: MessageParam, warnings: string[]): ChatMessage[] {
  if (message.role === 'system') return [{ role: 'system', content: plainText(message.content) }];
  if (typeof message.content === 'string') return [{ role: message.role, content: message.content }];
  if (message.role === 'assistant') return [translateAssistant(message.content)];

  const toolMessages: ChatMessage[] = [];
  const parts: ContentPart[] = [];
  for (const block of message.content) {
    if (block.type === 'tool_result') {
      if (block.is_error) warnings.push('tool_result.is_error is not carried over; the result text is sent as is.');
      toolMessages.push({ role: 'tool', tool_call_id: block.tool_use_id, content: toolResultText(block.content, warnings) });
    } else if (block.type === 'text') {
      parts.push({ type: 'text', text: block.text });
    } else if (block.type === 'image') {
      parts.push({ type: 'image_url', image_url: { url: imageUrl(block.source) } });
    }
    // tool_use in a user turn is invalid for Anthropic too; thinking blocks are dropped.
  }
  if (parts.length === 0) return toolMessages;
  return [...toolMessages, { role: 'user', content: textContent(parts) }];
}

function translateAssistant(blocks: ContentBlockParam[]): ChatMessage {
  let text = '';
  const toolCalls: ToolCall[] = [];
  for (const block of blocks) {
    if (block.type === 'text') text += block.text;
    else if (block.type === 'tool_use') {
      toolCalls.push({ id: block.id, type: 'function', function: { name: block.name, arguments: JSON.stringify(block.input) } });
    }
  }
  const message: ChatMessage = { role: 'assistant', content: text.length === 0 && toolCalls.length > 0 ? null : text };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  return message;
}

function toolResultText(content: Extract<ContentBlockParam, { type: 'tool_result' }>['content'], warnings: string[]): string {
  if (content === undefined) return '';
  if (typeof content === 'string') return content;
  // OpenAI tool messages carry text only: an image in a tool result is replaced by a marker, and the client told.
  if (content.some((block) => block.type !== 'text')) warnings.push('Images in tool_result content are not carried over.');
  return content.map((block) => (block.type === 'text' ? block.text : '[image]')).join('\n');
}

/** One text part stays a plain string (the common case); several keep their boundaries as content parts. */
function textContent(parts: ContentPart[]): string | ContentPart[] {
  if (parts.length === 1 && parts[0].type === 'text') return (parts[0] as { text: string }).text;
  return parts;
}

function plainText(content: MessageParam['content']): string {
  if (typeof content === 'string') return content;
  return content.map((block) => (block.type === 'text' ? block.text : '')).join('');
}

function imageUrl(source: { type: 'base64'; media_type: string; data: string } | { type: 'url'; url: string }): string {
  return source.type === 'base64' ? `data:${source.media_type};base64,${source.data}` : source.url;
}
