// OpenAI ChatRequest -> Gemini GenerateContentRequest (https://ai.google.dev/api/generate-content#request-body); pure.
import type { ChatMessage, ChatRequest, ContentPart, ToolCall } from '../../core/chat-types.js';
import { CovenantError } from '../../core/errors.js';
import { thinkingBudgetFor } from '../../core/thinking-budget.js';
import { convertJsonSchemaToGemini } from './convert-json-schema.js';
import type { GeminiContent, GeminiFunctionDeclaration, GeminiGenerationConfig, GeminiPart, GeminiRequest } from './gemini-api-schema.js';

export interface GeminiConversion {
  body: GeminiRequest;
  /** Settings Gemini has no equivalent for; they were ignored. */
  warnings: string[];
}

/** Request fields this conversion handles (or that need no translation); any other field set gets a warning. */
const handledFields = new Set([
  'model', 'messages', 'max_tokens', 'max_completion_tokens', 'stream', 'stream_options', 'tools', 'tool_choice',
  'response_format', 'n', 'stop', 'temperature', 'top_p', 'presence_penalty', 'frequency_penalty', 'seed', 'user',
  'reasoning_effort',
]);

/** Where Google's OpenAI-compatible endpoint keeps a function call's thought signature; we read and write the same place. */
export interface GoogleToolCallExtra { extra_content?: { google?: { thought_signature?: string } } }

export function convertToGeminiRequest(request: ChatRequest): GeminiConversion {
  const warnings: string[] = [];
  const system: GeminiPart[] = [];
  const contents: GeminiContent[] = [];
  const functionNameByCallId = new Map<string, string>();

  request.messages.forEach((message, index) => {
    switch (message.role) {
      case 'system':
      case 'developer':
        system.push(...textParts(message.content));
        break;
      case 'user':
        push(contents, 'user', userParts(message.content, warnings));
        break;
      case 'assistant':
        push(contents, 'model', assistantParts(message, index, functionNameByCallId));
        break;
      case 'tool': {
        const name = functionNameByCallId.get(message.tool_call_id ?? '');
        if (name === undefined) {
          throw new CovenantError('invalid_request', `messages[${index}].tool_call_id "${message.tool_call_id ?? ''}" does not match a tool call of an earlier assistant message.`, { param: `messages[${index}].tool_call_id` });
        }
        push(contents, 'user', [{ functionResponse: { name, response: functionResponse(message.content) } }]);
        break;
      }
      case 'function':
        push(contents, 'user', [{ functionResponse: { name: message.name ?? '', response: functionResponse(message.content) } }]);
        break;
      default:
        throw new CovenantError('invalid_request', `messages[${index}].role "${String(message.role)}" is not supported.`, { param: `messages[${index}].role` });
    }
  });

  const body: GeminiRequest = { contents };
  if (system.length > 0) body.systemInstruction = { parts: system };

  const declarations: GeminiFunctionDeclaration[] = [];
  for (const tool of request.tools ?? []) {
    if (tool.type !== 'function' || !tool.function) {
      warnings.push(`Tool type "${String(tool.type)}" is not supported by Gemini and was ignored.`);
      continue;
    }
    const declaration: GeminiFunctionDeclaration = { name: tool.function.name };
    if (tool.function.description) declaration.description = tool.function.description;
    const parameters = convertJsonSchemaToGemini(tool.function.parameters);
    if (parameters) declaration.parameters = parameters;
    declarations.push(declaration);
  }
  if (declarations.length > 0) {
    body.tools = [{ functionDeclarations: declarations }];
    const toolConfig = mapToolChoice(request.tool_choice);
    if (toolConfig) body.toolConfig = { functionCallingConfig: toolConfig };
  }

  const generationConfig = mapGenerationConfig(request, warnings);
  if (Object.keys(generationConfig).length > 0) body.generationConfig = generationConfig;

  for (const [key, value] of Object.entries(request)) {
    if (!handledFields.has(key) && value !== undefined && value !== null) warnings.push(`"${key}" is not supported by Gemini and was ignored.`);
  }
  return { body, warnings };
}

/** Gemini expects turns to alternate; adjacent messages of one role (e.g. several tool results) become one turn. */
function push(contents: GeminiContent[], role: 'user' | 'model', parts: GeminiPart[]): void {
  if (parts.length === 0) return;
  const last = contents[contents.length - 1];
  if (last && last.role === role) last.parts.push(...parts);
  else contents.push({ role, parts });
}

function textParts(content: ChatMessage['content']): GeminiPart[] {
  if (typeof content === 'string') return content === '' ? [] : [{ text: content }];
  if (!Array.isArray(content)) return [];
  return content.filter((part): part is { type: 'text'; text: string } => part.type === 'text' && typeof part.text === 'string' && part.text !== '')
    .map((part) => ({ text: part.text }));
}

function userParts(content: ChatMessage['content'], warnings: string[]): GeminiPart[] {
  if (!Array.isArray(content)) return textParts(content);
  const parts: GeminiPart[] = [];
  for (const part of content as ContentPart[]) {
    if (part.type === 'text' && typeof part.text === 'string') {
      if (part.text !== '') parts.push({ text: part.text });
    } else if (part.type === 'image_url') {
      parts.push(mediaPart(String((part.image_url as { url?: unknown } | undefined)?.url ?? '')));
    } else if (part.type === 'input_audio') {
      const audio = part.input_audio as { data?: string; format?: string } | undefined;
      parts.push({ inlineData: { mimeType: `audio/${audio?.format === 'mp3' ? 'mp3' : 'wav'}`, data: audio?.data ?? '' } });
    } else if (part.type === 'file' && typeof (part.file as { file_data?: unknown } | undefined)?.file_data === 'string') {
      parts.push(mediaPart((part.file as { file_data: string }).file_data));
    } else {
      warnings.push(`Content part type "${part.type}" is not supported by Gemini and was left out.`);
    }
  }
  return parts;
}

/** data: URLs go inline (base64); other URLs by reference (fileData), with the type guessed from the extension. */
function mediaPart(url: string): GeminiPart {
  const data = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (data) return { inlineData: { mimeType: data[1], data: data[2] } };
  const extension = /\.([a-z0-9]+)(?:[?#].*)?$/i.exec(url)?.[1]?.toLowerCase() ?? '';
  const types: Record<string, string> = { png: 'image/png', gif: 'image/gif', webp: 'image/webp', pdf: 'application/pdf', mp3: 'audio/mp3', wav: 'audio/wav' };
  return { fileData: { mimeType: types[extension] ?? 'image/jpeg', fileUri: url } };
}

function assistantParts(message: ChatMessage, index: number, functionNameByCallId: Map<string, string>): GeminiPart[] {
  const parts = textParts(message.content);
  for (const call of (message.tool_calls ?? []) as (ToolCall & GoogleToolCallExtra)[]) {
    functionNameByCallId.set(call.id, call.function.name);
    let args: unknown;
    try {
      args = call.function.arguments ? JSON.parse(call.function.arguments) : {};
    } catch {
      throw new CovenantError('invalid_request', `messages[${index}].tool_calls: the arguments of "${call.function.name}" are not JSON.`, { param: `messages[${index}].tool_calls` });
    }
    const part: GeminiPart = { functionCall: { name: call.function.name, args: isRecord(args) ? args : { value: args } } };
    const signature = call.extra_content?.google?.thought_signature;
    if (signature) part.thoughtSignature = signature;
    parts.push(part);
  }
  return parts;
}

/** Gemini's functionResponse.response is a JSON object: a JSON object result goes as it is, anything else as {result}. */
function functionResponse(content: ChatMessage['content']): Record<string, unknown> {
  const text = typeof content === 'string' ? content : textParts(content).map((part) => part.text).join('');
  try {
    const parsed: unknown = JSON.parse(text);
    if (isRecord(parsed)) return parsed;
    return { result: parsed };
  } catch {
    return { result: text };
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** tool_choice -> functionCallingConfig (https://ai.google.dev/gemini-api/docs/function-calling#function_calling_modes). */
function mapToolChoice(choice: unknown): { mode: 'AUTO' | 'ANY' | 'NONE'; allowedFunctionNames?: string[] } | undefined {
  if (choice === 'auto') return { mode: 'AUTO' };
  if (choice === 'none') return { mode: 'NONE' };
  if (choice === 'required') return { mode: 'ANY' };
  const name = (choice as { function?: { name?: unknown } } | null | undefined)?.function?.name;
  if (typeof name === 'string') return { mode: 'ANY', allowedFunctionNames: [name] };
  return undefined;
}

function mapGenerationConfig(request: ChatRequest, warnings: string[]): GeminiGenerationConfig {
  const config: GeminiGenerationConfig = {};
  const limit = request.max_completion_tokens ?? request.max_tokens;
  if (typeof limit === 'number') config.maxOutputTokens = limit;
  if (typeof request.stop === 'string') config.stopSequences = [request.stop];
  else if (Array.isArray(request.stop) && request.stop.length > 0) config.stopSequences = request.stop;
  if (typeof request.temperature === 'number') config.temperature = request.temperature;
  if (typeof request.top_p === 'number') config.topP = request.top_p;
  if (typeof request.n === 'number') config.candidateCount = request.n;
  if (typeof request.presence_penalty === 'number') config.presencePenalty = request.presence_penalty;
  if (typeof request.frequency_penalty === 'number') config.frequencyPenalty = request.frequency_penalty;
  if (typeof request.seed === 'number') config.seed = request.seed;
  const thinking = mapThinking(request.reasoning_effort, config.maxOutputTokens, warnings);
  if (thinking) config.thinkingConfig = thinking;
  const format = request.response_format;
  if (format?.type === 'json_object') {
    config.responseMimeType = 'application/json';
  } else if (format?.type === 'json_schema') {
    config.responseMimeType = 'application/json';
    const schema = convertJsonSchemaToGemini((format.json_schema as { schema?: unknown } | undefined)?.schema);
    if (schema) config.responseSchema = schema;
    else warnings.push('response_format.json_schema has no properties Gemini can enforce; only JSON output was requested.');
  }
  return config;
}

/**
 * reasoning_effort -> thinkingConfig.thinkingBudget (https://ai.google.dev/gemini-api/docs/thinking#set-budget).
 * Google bills thoughts as output (https://ai.google.dev/gemini-api/docs/pricing: output price "including thinking
 * tokens"), and they are generated within maxOutputTokens (a 2.5 model whose thoughts reach maxOutputTokens ends
 * with MAX_TOKENS and no text, as reported on github.com/googleapis/python-genai). The budget alone bounds nothing (the thinking docs say the model may overflow or
 * underflow it), so the bill stays bounded by the maxOutputTokens the budget stage reserved and sends, and the
 * thinking budget is kept below it so the answer has room. "none" is not sent as 0: Gemini 2.5 Pro cannot
 * turn thinking off and rejects it, so the model's own default is left in place.
 */
function mapThinking(effort: unknown, maxOutputTokens: number | undefined, warnings: string[]): GeminiGenerationConfig['thinkingConfig'] {
  const { budget, warnings: budgetWarnings } = thinkingBudgetFor(effort, maxOutputTokens, 'Gemini');
  warnings.push(...budgetWarnings);
  if (budget === 0) warnings.push('reasoning_effort "none" is not sent to Gemini (thinking models without an off switch reject it); the model\'s default thinking applies.');
  return budget ? { thinkingBudget: budget } : undefined;
}
