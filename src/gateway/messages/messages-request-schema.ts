// Zod schema of an Anthropic Messages request as clients send it to POST /v1/messages, and readable 400s naming the field.
import { z } from 'zod';
import { CovenantError } from '../../core/errors.js';

const cacheControl = z.looseObject({ type: z.string() }).nullish();

const textBlock = z.looseObject({ type: z.literal('text'), text: z.string(), cache_control: cacheControl });

const imageBlock = z.looseObject({
  type: z.literal('image'),
  source: z.discriminatedUnion('type', [
    z.looseObject({ type: z.literal('base64'), media_type: z.string(), data: z.string() }),
    z.looseObject({ type: z.literal('url'), url: z.string() }),
  ]),
  cache_control: cacheControl,
});

const toolUseBlock = z.looseObject({
  type: z.literal('tool_use'),
  id: z.string(),
  name: z.string(),
  input: z.record(z.string(), z.unknown()),
  cache_control: cacheControl,
});

const toolResultBlock = z.looseObject({
  type: z.literal('tool_result'),
  tool_use_id: z.string(),
  content: z.union([z.string(), z.array(z.discriminatedUnion('type', [textBlock, imageBlock]))]).optional(),
  is_error: z.boolean().optional(),
  cache_control: cacheControl,
});

/** Thinking blocks from an earlier turn: accepted and dropped (Covenant does not forward extended thinking). */
const thinkingBlock = z.looseObject({ type: z.enum(['thinking', 'redacted_thinking']) });

export const contentBlockSchema = z.discriminatedUnion('type', [textBlock, imageBlock, toolUseBlock, toolResultBlock, thinkingBlock]);

export const messageParamSchema = z.looseObject({
  // "system" turns appear in newer SDK versions; they become OpenAI system messages.
  role: z.enum(['user', 'assistant', 'system']),
  content: z.union([z.string(), z.array(contentBlockSchema)]),
});

export const toolSchema = z.looseObject({
  // Anthropic's server tools (web_search_…, bash_…) carry other types: Covenant can only pass client tools.
  // Checked first, so that is the error a client sends a server tool gets.
  type: z.enum(['custom'], { error: 'only client tools (type "custom" or none) are supported; server tools are not' }).nullish(),
  name: z.string().min(1),
  description: z.string().optional(),
  input_schema: z.record(z.string(), z.unknown()),
});

export const toolChoiceSchema = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('auto'), disable_parallel_tool_use: z.boolean().optional() }),
  z.looseObject({ type: z.literal('any'), disable_parallel_tool_use: z.boolean().optional() }),
  z.looseObject({ type: z.literal('tool'), name: z.string(), disable_parallel_tool_use: z.boolean().optional() }),
  z.looseObject({ type: z.literal('none') }),
]);

export const messagesRequestSchema = z.looseObject({
  model: z.string().min(1),
  max_tokens: z.number().int().positive(),
  messages: z.array(messageParamSchema).min(1),
  system: z.union([z.string(), z.array(textBlock)]).optional(),
  stop_sequences: z.array(z.string()).optional(),
  stream: z.boolean().optional(),
  temperature: z.number().min(0).max(1).optional(),
  top_p: z.number().min(0).max(1).optional(),
  top_k: z.number().int().nonnegative().optional(),
  tools: z.array(toolSchema).optional(),
  tool_choice: toolChoiceSchema.optional(),
  metadata: z.looseObject({ user_id: z.string().nullish() }).optional(),
});

export type MessagesRequest = z.infer<typeof messagesRequestSchema>;
export type MessageParam = z.infer<typeof messageParamSchema>;
export type ContentBlockParam = z.infer<typeof contentBlockSchema>;

/** Validate a parsed JSON body; a bad one is a 400 whose message and `param` name the first bad field. */
export function parseMessagesRequest(body: unknown): MessagesRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new CovenantError('invalid_request', 'The request body must be a JSON object.');
  }
  const result = messagesRequestSchema.safeParse(body);
  if (result.success) return result.data;
  const { path, message } = deepestIssue(result.error.issues[0], []);
  const field = formatPath(path);
  throw new CovenantError('invalid_request', `${field}: ${message}`, { param: field });
}

interface Issue { code: string; path: PropertyKey[]; message: string; errors?: Issue[][]; expected?: string }

/** In a union, the branch whose error reaches deepest is the one the client meant; report that one. */
function deepestIssue(issue: Issue, prefix: PropertyKey[]): { path: PropertyKey[]; message: string } {
  const path = [...prefix, ...issue.path];
  if (issue.code === 'invalid_union' && issue.errors && issue.errors.length > 0) {
    let best: { path: PropertyKey[]; message: string } | undefined;
    for (const branch of issue.errors) {
      if (branch.length === 0) continue;
      const candidate = deepestIssue(branch[0], path);
      if (!best || candidate.path.length > best.path.length) best = candidate;
    }
    if (best) return best;
  }
  if (issue.code === 'invalid_type' && issue.message.endsWith('received undefined')) {
    return { path, message: 'Field required' };
  }
  return { path, message: issue.message.replace(/^Invalid input: /, '') };
}

function formatPath(path: PropertyKey[]): string {
  if (path.length === 0) return 'body';
  return path.map((part, index) => (typeof part === 'number' ? `[${part}]` : `${index === 0 ? '' : '.'}${String(part)}`)).join('');
}
