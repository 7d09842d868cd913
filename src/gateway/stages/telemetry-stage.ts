// Pipeline stage for OpenTelemetry: one GenAI span per request, a child of the client's trace, its context passed upstream.
import { SpanKind, SpanStatusCode, type Attributes, type Span } from '@opentelemetry/api';
import type { ChatRequest } from '../../core/chat-types.js';
import { redactJson } from '../../core/redact.js';
import type { ProviderType } from '../../providers/types.js';
import type { CallContext, FinishedContext, Stage } from '../context.js';
import { parentContext, traceHeaders, type Telemetry } from '../telemetry.js';

declare module '../context.js' {
  interface StageState {
    /** The request's span, from admission until every stage has finished. */
    span?: Span;
  }
}

/** `gen_ai.provider.name` values the GenAI conventions name; other hosts go by their configured name. */
const wellKnownProviders: Partial<Record<ProviderType, string>> = { openai: 'openai', anthropic: 'anthropic', gemini: 'gcp.gemini' };

function operationName(context: FinishedContext): 'chat' | 'embeddings' {
  return context.route === 'embeddings' ? 'embeddings' : 'chat';
}

/** What the budget did: no budget applies, reserved, reserved with max_tokens lowered, or refused. */
export function budgetDecision(context: FinishedContext): 'none' | 'reserved' | 'lowered' | 'refused' {
  if (context.outcome.kind === 'refused' && context.outcome.stage === 'budget') return 'refused';
  const handle = context.state.budget;
  if (!handle) return 'none';
  return handle.lowered ? 'lowered' : 'reserved';
}

/** The client's messages in the GenAI conventions' shape (role and text parts). */
function inputMessages(request: ChatRequest): unknown[] {
  return request.messages.map((message) => ({
    role: message.role,
    parts: typeof message.content === 'string' ? [{ type: 'text', content: message.content }] : (message.content ?? []),
  }));
}

/**
 * Prompt and answer as span attributes, only where the department keeps content ('redacted': with the ledger's
 * redaction applied). The answer is the body the client received.
 */
function contentAttributes(context: FinishedContext): Attributes {
  const mode = context.department.retention.content;
  if (mode === 'none' || context.clientRequest === null) return {};
  const request = context.clientRequest as Partial<ChatRequest>;
  const input: unknown = Array.isArray(request.messages) ? inputMessages(request as ChatRequest) : (request as { input?: unknown }).input;
  const output = context.responseText;
  const kept = mode === 'redacted' ? redactJson({ input, output }).value : { input, output };
  const attributes: Attributes = { 'gen_ai.input.messages': JSON.stringify(kept.input) };
  if (kept.output !== null && kept.output !== undefined) attributes['covenant.response.body'] = kept.output;
  return attributes;
}

/** The span's attributes once the request is over: the GenAI conventions' names, then Covenant's own. */
export function spanAttributes(context: FinishedContext, recorded: boolean): Attributes {
  const attributes: Attributes = {
    'gen_ai.operation.name': operationName(context),
    'covenant.request_id': context.id,
    'covenant.department': context.department.name,
    'covenant.key': context.key.name,
    'covenant.route': context.route,
    'covenant.stream': context.stream,
    'covenant.cost_usd': context.costMicros / 1_000_000,
    'covenant.budget.decision': budgetDecision(context),
    'http.response.status_code': recorded ? context.status : 503,
  };
  if (context.alias !== null) attributes['gen_ai.request.model'] = context.alias;
  if (context.provider !== null) {
    attributes['gen_ai.provider.name'] = wellKnownProviders[context.provider.type] ?? context.provider.name;
    attributes['covenant.provider'] = context.provider.name;
  }
  if (context.model !== null) attributes['covenant.model.version'] = context.model.version;
  if (context.upstreamModel !== null) attributes['gen_ai.response.model'] = context.upstreamModel;
  if (context.usage) {
    attributes['gen_ai.usage.input_tokens'] = context.usage.inputTokens;
    attributes['gen_ai.usage.output_tokens'] = context.usage.outputTokens;
    attributes['covenant.usage.estimated'] = context.usageEstimated;
  }
  if (context.model !== null && context.route !== 'embeddings') {
    attributes['gen_ai.request.max_tokens'] = context.maxOutputTokens;
    const request = context.clientRequest as ChatRequest;
    if (typeof request.temperature === 'number') attributes['gen_ai.request.temperature'] = request.temperature;
    if (typeof request.top_p === 'number') attributes['gen_ai.request.top_p'] = request.top_p;
  }
  if (context.finishReasons !== null) attributes['gen_ai.response.finish_reasons'] = context.finishReasons;
  if (context.ttftMs !== null) attributes['gen_ai.server.time_to_first_token'] = context.ttftMs / 1000;
  const seq = context.state.ledger?.seq;
  if (seq !== undefined) attributes['covenant.ledger.seq'] = seq;
  const outcome = context.outcome;
  if (outcome.kind === 'refused' || outcome.kind === 'failed') attributes['error.type'] = outcome.error.code;
  else if (context.streamError !== null) attributes['error.type'] = context.streamError.code;
  else if (!recorded) attributes['error.type'] = 'evidence_unavailable';
  if (outcome.kind === 'refused') attributes['covenant.refused_by'] = outcome.stage ?? 'request';
  return { ...attributes, ...contentAttributes(context) };
}

function startSpan(telemetry: Telemetry, context: FinishedContext): Span {
  const operation = operationName(context);
  return telemetry.tracer.startSpan(context.alias === null ? operation : `${operation} ${context.alias}`, {
    kind: SpanKind.CLIENT,
    // The request's own monotonic start: the span covers authentication and every stage, not only this one.
    startTime: context.startedAt,
  }, parentContext(context.traceparent, context.tracestate));
}

/** Listed first, so its span opens before the other stages admit and closes after they have all finished. */
export function createTelemetryStage(telemetry: Telemetry): Stage {
  return {
    name: 'telemetry',

    admit(context: CallContext) {
      const span = startSpan(telemetry, context);
      context.state.span = span;
      // Passed upstream even when this trace is not sampled, so the provider's spans (if any) join the client's trace.
      context.upstreamHeaders = { ...context.upstreamHeaders, ...traceHeaders(span) };
    },

    finished(context, recorded) {
      // A request refused before it had a model never reached admission: its span covers it all the same.
      const span = context.state.span ?? startSpan(telemetry, context);
      if (span.isRecording()) {
        const attributes = spanAttributes(context, recorded);
        span.setAttributes(attributes);
        // A refusal is the gateway doing its job (it keeps its error.type); a failed or unrecorded call is an error.
        const failed = context.outcome.kind === 'failed' || context.streamError !== null || !recorded;
        if (failed) span.setStatus({ code: SpanStatusCode.ERROR, message: String(attributes['error.type']) });
      }
      span.end();
    },
  };
}
