// Zod schema of an OpenAI Responses request as clients send it to POST /v1/responses (https://platform.openai.com/docs/api-reference/responses/create).
import { z } from 'zod';
import { CovenantError } from '../../core/errors.js';

const inputText = z.looseObject({ type: z.literal('input_text'), text: z.string() });
const outputText = z.looseObject({ type: z.literal('output_text'), text: z.string() });
const refusal = z.looseObject({ type: z.literal('refusal'), refusal: z.string() });
const inputImage = z.looseObject({ type: z.literal('input_image'), image_url: z.string().nullish(), file_id: z.string().nullish(), detail: z.string().optional() });
const inputFile = z.looseObject({ type: z.literal('input_file') });

const knownPartTypes = new Set(['input_text', 'output_text', 'refusal', 'input_image', 'input_file']);

/** A part of another type (input_audio, …): OpenAI may serve it natively; the translation refuses it by name. */
const otherPart = z.looseObject({ type: z.string().refine((type) => !knownPartTypes.has(type)) });

export const contentPartSchema = z.union([z.discriminatedUnion('type', [inputText, outputText, refusal, inputImage, inputFile]), otherPart]);

/** An input message (EasyInputMessage, or a Message item with its optional id and status). */
const messageItem = z.looseObject({
  type: z.literal('message').optional(),
  role: z.enum(['user', 'assistant', 'system', 'developer']),
  content: z.union([z.string(), z.array(contentPartSchema)]),
});

const functionCallItem = z.looseObject({
  type: z.literal('function_call'),
  call_id: z.string(),
  name: z.string(),
  arguments: z.string(),
});

const functionCallOutputItem = z.looseObject({
  type: z.literal('function_call_output'),
  call_id: z.string(),
  output: z.union([z.string(), z.array(z.looseObject({ type: z.string() }))]),
});

/** Reasoning items from an earlier turn: accepted and dropped when translated (only OpenAI can use them). */
const reasoningItem = z.looseObject({ type: z.literal('reasoning') });

/** An item whose type Covenant cannot translate (built-in tool calls, item references): named in the 400. */
const otherItem = z.looseObject({ type: z.string() });

export const inputItemSchema = z.union([messageItem, functionCallItem, functionCallOutputItem, reasoningItem, otherItem]);

const functionTool = z.looseObject({
  type: z.literal('function'),
  name: z.string().min(1),
  description: z.string().nullish(),
  parameters: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
});

/** Built-in tools (web_search, file_search, computer_use, code_interpreter, mcp, …) run inside OpenAI. */
const builtInTool = z.looseObject({ type: z.string() });

const textFormat = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text') }),
  z.looseObject({ type: z.literal('json_object') }),
  z.looseObject({
    type: z.literal('json_schema'),
    name: z.string(),
    schema: z.record(z.string(), z.unknown()),
    description: z.string().optional(),
    strict: z.boolean().nullish(),
  }),
]);

const toolChoice = z.union([
  z.enum(['none', 'auto', 'required']),
  z.looseObject({ type: z.literal('function'), name: z.string() }),
  z.looseObject({ type: z.string() }),
]);

export const responsesRequestSchema = z.looseObject({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(inputItemSchema)]).optional(),
  instructions: z.string().nullish(),
  max_output_tokens: z.number().int().positive().nullish(),
  stream: z.boolean().nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  tools: z.array(z.union([functionTool, builtInTool])).optional(),
  tool_choice: toolChoice.optional(),
  parallel_tool_calls: z.boolean().nullish(),
  text: z.looseObject({ format: textFormat.optional(), verbosity: z.string().nullish() }).nullish(),
  reasoning: z.looseObject({ effort: z.string().nullish(), summary: z.string().nullish() }).nullish(),
  user: z.string().optional(),
  metadata: z.record(z.string(), z.string()).nullish(),
  store: z.boolean().nullish(),
  previous_response_id: z.string().nullish(),
  conversation: z.unknown().optional(),
  background: z.boolean().nullish(),
});

export type ResponsesRequest = z.infer<typeof responsesRequestSchema>;
export type InputItem = z.infer<typeof inputItemSchema>;
export type InputContentPart = z.infer<typeof contentPartSchema>;

/** Validate a parsed JSON body; a bad one is a 400 whose message and `param` name the first bad field. */
export function parseResponsesRequest(body: unknown): ResponsesRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new CovenantError('invalid_request', 'The request body must be a JSON object.');
  }
  const result = responsesRequestSchema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = formatPath(issue.path);
  const message = issue.code === 'invalid_type' && issue.message.endsWith('received undefined') ? 'Field required' : issue.message.replace(/^Invalid input: /, '');
  throw new CovenantError('invalid_request', `${field}: ${message}`, { param: field });
}

export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return 'body';
  return path.map((part, index) => (typeof part === 'number' ? `[${part}]` : `${index === 0 ? '' : '.'}${String(part)}`)).join('');
}
