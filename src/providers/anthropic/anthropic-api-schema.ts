// Anthropic Messages API wire format (https://docs.anthropic.com/en/api/messages): request types we send, zod schemas of what comes back.
import { z } from 'zod';
import { CovenantError } from '../../core/errors.js';

// ---- Requests (what the adapter sends; the ingress accepts the same shape) ----

export type AnthropicImageSource =
  | { type: 'base64'; media_type: string; data: string }
  | { type: 'url'; url: string };

export interface AnthropicTextBlock { type: 'text'; text: string; [key: string]: unknown }
export interface AnthropicImageBlock { type: 'image'; source: AnthropicImageSource; [key: string]: unknown }
export interface AnthropicToolUseBlock { type: 'tool_use'; id: string; name: string; input: unknown; [key: string]: unknown }
export interface AnthropicToolResultBlock {
  type: 'tool_result';
  tool_use_id: string;
  content?: string | (AnthropicTextBlock | AnthropicImageBlock)[];
  is_error?: boolean;
  [key: string]: unknown;
}
export type AnthropicContentBlock = AnthropicTextBlock | AnthropicImageBlock | AnthropicToolUseBlock | AnthropicToolResultBlock;

export interface AnthropicMessage {
  role: 'user' | 'assistant';
  content: string | AnthropicContentBlock[];
}

export interface AnthropicTool {
  name: string;
  description?: string;
  input_schema: Record<string, unknown>;
}

export type AnthropicToolChoice =
  | { type: 'auto'; disable_parallel_tool_use?: boolean }
  | { type: 'any'; disable_parallel_tool_use?: boolean }
  | { type: 'tool'; name: string; disable_parallel_tool_use?: boolean }
  | { type: 'none' };

export interface AnthropicRequest {
  model: string;
  max_tokens: number;
  messages: AnthropicMessage[];
  system?: string | AnthropicTextBlock[];
  stop_sequences?: string[];
  temperature?: number;
  top_p?: number;
  top_k?: number;
  tools?: AnthropicTool[];
  tool_choice?: AnthropicToolChoice;
  metadata?: { user_id?: string };
  /** Extended thinking (https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking). */
  thinking?: { type: 'enabled'; budget_tokens: number };
  stream?: boolean;
}

/** The headers every call carries (https://docs.anthropic.com/en/api/versioning). */
export const anthropicVersion = '2023-06-01';

// ---- Responses (validated: a provider that answers garbage gets a clear 502) ----

const count = z.number().int().nonnegative();

export const anthropicUsageSchema = z.looseObject({
  input_tokens: count,
  output_tokens: count,
  cache_creation_input_tokens: count.nullish(),
  cache_read_input_tokens: count.nullish(),
  output_tokens_details: z.looseObject({ thinking_tokens: count.nullish() }).nullish(),
});

const knownBlockTypes = new Set(['text', 'tool_use', 'thinking']);

export const anthropicResponseBlockSchema = z.union([
  z.looseObject({ type: z.literal('text'), text: z.string() }),
  z.looseObject({ type: z.literal('tool_use'), id: z.string(), name: z.string(), input: z.unknown() }),
  z.looseObject({ type: z.literal('thinking'), thinking: z.string() }),
  // Blocks we do not translate (redacted_thinking, server tool results) are tolerated, then skipped.
  z.looseObject({ type: z.string().refine((type) => !knownBlockTypes.has(type)) }),
]);

export const anthropicStopReasonSchema = z.string().nullish();

export const anthropicMessageSchema = z.looseObject({
  id: z.string(),
  type: z.literal('message'),
  role: z.literal('assistant'),
  model: z.string(),
  content: z.array(anthropicResponseBlockSchema),
  stop_reason: anthropicStopReasonSchema,
  stop_sequence: z.string().nullish(),
  usage: anthropicUsageSchema,
});

export type AnthropicResponseMessage = z.infer<typeof anthropicMessageSchema>;
export type AnthropicUsage = z.infer<typeof anthropicUsageSchema>;
export type AnthropicResponseBlock = z.infer<typeof anthropicResponseBlockSchema>;

const deltaUsageSchema = z.looseObject({
  output_tokens: count,
  input_tokens: count.nullish(),
  cache_creation_input_tokens: count.nullish(),
  cache_read_input_tokens: count.nullish(),
  output_tokens_details: z.looseObject({ thinking_tokens: count.nullish() }).nullish(),
});

/** Stream events (https://docs.anthropic.com/en/docs/build-with-claude/streaming#event-types). */
export const anthropicStreamEventSchema = z.discriminatedUnion('type', [
  z.looseObject({
    type: z.literal('message_start'),
    message: anthropicMessageSchema.extend({ content: z.array(z.unknown()) }),
  }),
  z.looseObject({ type: z.literal('content_block_start'), index: count, content_block: anthropicResponseBlockSchema }),
  z.looseObject({
    type: z.literal('content_block_delta'),
    index: count,
    delta: z.union([
      z.looseObject({ type: z.literal('text_delta'), text: z.string() }),
      z.looseObject({ type: z.literal('input_json_delta'), partial_json: z.string() }),
      z.looseObject({ type: z.literal('thinking_delta'), thinking: z.string() }),
      // signature_delta, citations_delta: nothing to translate into OpenAI chunks.
      z.looseObject({ type: z.string().refine((type) => !['text_delta', 'input_json_delta', 'thinking_delta'].includes(type)) }),
    ]),
  }),
  z.looseObject({ type: z.literal('content_block_stop'), index: count }),
  z.looseObject({
    type: z.literal('message_delta'),
    delta: z.looseObject({ stop_reason: anthropicStopReasonSchema, stop_sequence: z.string().nullish() }),
    usage: deltaUsageSchema,
  }),
  z.looseObject({ type: z.literal('message_stop') }),
  z.looseObject({ type: z.literal('ping') }),
  z.looseObject({ type: z.literal('error'), error: z.looseObject({ type: z.string(), message: z.string() }) }),
]);

export type AnthropicStreamEvent = z.infer<typeof anthropicStreamEventSchema>;

/** The event names the stream mapper understands; others (future additions) are skipped, as the API's versioning policy asks. */
export const knownStreamEvents = new Set([
  'message_start', 'content_block_start', 'content_block_delta', 'content_block_stop',
  'message_delta', 'message_stop', 'ping', 'error',
]);

/** Validate a wire value; a mismatch becomes a 502 that names the provider, what was wrong and where. */
export function parseWire<T>(schema: z.ZodType<T>, value: unknown, provider: string, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
  throw new CovenantError('upstream_error',
    `Provider "${provider}" returned a malformed ${what}${where}: ${issue?.message ?? 'invalid'}.`);
}
