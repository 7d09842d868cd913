// Gemini API wire format (https://ai.google.dev/api/generate-content): request types we send, zod schemas of what comes back.
import { z } from 'zod';
import { CovenantError } from '../../core/errors.js';

// ---- Requests (GenerateContentRequest, https://ai.google.dev/api/generate-content#request-body) ----

export interface GeminiFunctionCall { name: string; args?: Record<string, unknown>; id?: string }
export interface GeminiFunctionResponse { name: string; response: Record<string, unknown>; id?: string }

/** A Part holds exactly one kind of data (https://ai.google.dev/api/caching#Part). */
export interface GeminiPart {
  text?: string;
  thought?: boolean;
  /** Opaque signature of the model's reasoning; Gemini 3 requires it back on functionCall parts of the current turn. */
  thoughtSignature?: string;
  inlineData?: { mimeType: string; data: string };
  fileData?: { mimeType?: string; fileUri: string };
  functionCall?: GeminiFunctionCall;
  functionResponse?: GeminiFunctionResponse;
}

export interface GeminiContent { role?: 'user' | 'model'; parts: GeminiPart[] }

/** Gemini's OpenAPI 3.0 Schema subset (https://ai.google.dev/api/caching#Schema). */
export interface GeminiSchema { [key: string]: unknown }

export interface GeminiFunctionDeclaration { name: string; description?: string; parameters?: GeminiSchema }

export interface GeminiGenerationConfig {
  stopSequences?: string[];
  responseMimeType?: string;
  responseSchema?: GeminiSchema;
  candidateCount?: number;
  maxOutputTokens?: number;
  temperature?: number;
  topP?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  seed?: number;
  /** Thinking models' token budget for thoughts (https://ai.google.dev/api/generate-content#ThinkingConfig). */
  thinkingConfig?: { thinkingBudget?: number; includeThoughts?: boolean };
}

export interface GeminiRequest {
  contents: GeminiContent[];
  systemInstruction?: { parts: GeminiPart[] };
  tools?: { functionDeclarations: GeminiFunctionDeclaration[] }[];
  toolConfig?: { functionCallingConfig: { mode: 'AUTO' | 'ANY' | 'NONE'; allowedFunctionNames?: string[] } };
  generationConfig?: GeminiGenerationConfig;
}

/** batchEmbedContents request (https://ai.google.dev/api/embeddings#method:-models.batchembedcontents). */
export interface GeminiBatchEmbedRequest {
  requests: { model: string; content: { parts: { text: string }[] }; outputDimensionality?: number }[];
}

// ---- Responses (unknown fields pass: Google adds fields without notice) ----

const count = z.number().int().nonnegative().optional();

export const geminiUsageSchema = z.looseObject({
  promptTokenCount: count,
  cachedContentTokenCount: count,
  candidatesTokenCount: count,
  toolUsePromptTokenCount: count,
  thoughtsTokenCount: count,
  totalTokenCount: count,
});

const partSchema = z.looseObject({
  text: z.string().optional(),
  thought: z.boolean().optional(),
  thoughtSignature: z.string().optional(),
  functionCall: z.looseObject({
    name: z.string(),
    args: z.record(z.string(), z.unknown()).nullish(),
    id: z.string().optional(),
  }).optional(),
});

const candidateSchema = z.looseObject({
  content: z.looseObject({
    parts: z.array(partSchema).optional(),
    role: z.string().optional(),
  }).optional(),
  finishReason: z.string().optional(),
  index: z.number().int().nonnegative().optional(),
});

export const geminiResponseSchema = z.looseObject({
  candidates: z.array(candidateSchema).optional(),
  promptFeedback: z.looseObject({ blockReason: z.string().optional() }).optional(),
  usageMetadata: geminiUsageSchema.optional(),
  modelVersion: z.string().optional(),
  responseId: z.string().optional(),
});

export const geminiBatchEmbedResponseSchema = z.looseObject({
  embeddings: z.array(z.looseObject({ values: z.array(z.number()) })),
});

/** A streamed event may carry an error instead of a response. */
export const geminiStreamErrorSchema = z.looseObject({
  error: z.looseObject({ code: z.number().optional(), message: z.string().optional(), status: z.string().optional() }),
});

export type GeminiUsage = z.infer<typeof geminiUsageSchema>;
export type GeminiResponse = z.infer<typeof geminiResponseSchema>;
export type GeminiCandidate = z.infer<typeof candidateSchema>;
export type GeminiResponsePart = z.infer<typeof partSchema>;

/** Validate a provider payload; anything else is the provider's fault: a 502 that names what was wrong. */
export function parseGeminiWire<T>(schema: z.ZodType<T>, value: unknown, provider: string, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
  throw new CovenantError('upstream_error', `Provider "${provider}" returned a ${what} that is not in Gemini's format${where}: ${issue?.message ?? 'invalid'}.`);
}
