// POST /v1/responses streaming: chat chunks -> the Responses API's SSE events (https://platform.openai.com/docs/api-reference/responses-streaming).
import type { ChatChunk, FinishReason, Usage } from '../../core/chat-types.js';
import { usageFromOpenAI } from '../../core/chat-types.js';
import { CovenantError } from '../../core/errors.js';
import type { ResponsesRequest } from './responses-request-schema.js';
import { echoOf, statusOf, toResponseId, toResponsesUsage, type OutputItem, type ResponseJson } from './response-from-chat.js';

export interface ResponsesSseEvent {
  type: string;
  sequence_number: number;
  [key: string]: unknown;
}

export interface ResponsesStreamOptions {
  /** The usage the stream reported once it ended (the adapter's normalised one); else the usage chunk's. */
  usage?: () => Usage | undefined;
  request?: ResponsesRequest;
  /** Seconds since the epoch for created_at when no chunk names it. */
  createdAt?: number;
}

type OpenItem =
  | { kind: 'text'; outputIndex: number; id: string; text: string }
  | { kind: 'call'; outputIndex: number; id: string; callId: string; name: string; arguments: string };

/**
 * Turns a chat stream into Responses events, one chunk at a time: response.created and response.in_progress first;
 * each text or function call an output item (added, its deltas, done); response.completed (or .incomplete) with the
 * usage at the end. Every event carries the next sequence_number, as OpenAI's do.
 */
export class ChatToResponsesEvents {
  #sequence = 0;
  #started = false;
  #id = 'resp_covenant';
  #base = 'covenant';
  #createdAt: number;
  #open: OpenItem | undefined;
  readonly #output: OutputItem[] = [];
  /** Chat tool-call index -> the open call item, so the arguments of parallel calls reach the right item. */
  readonly #callOf = new Map<number, OpenItem & { kind: 'call' }>();
  #finishReason: FinishReason | null = null;
  #chunkUsage: Usage | undefined;

  constructor(private readonly model: string, private readonly options: ResponsesStreamOptions = {}) {
    this.#createdAt = options.createdAt ?? 0;
  }

  get started(): boolean {
    return this.#started;
  }

  push(chunk: ChatChunk): ResponsesSseEvent[] {
    const events: ResponsesSseEvent[] = [];
    if (!this.#started) this.#start(events, chunk);
    if (chunk.usage) this.#chunkUsage = usageFromOpenAI(chunk.usage);
    const choice = chunk.choices.find((candidate) => candidate.index === 0);
    if (!choice) return events;
    const delta = choice.delta ?? {};
    const text = (typeof delta.content === 'string' ? delta.content : '') + (typeof delta.refusal === 'string' ? delta.refusal : '');
    if (text.length > 0) {
      if (this.#open?.kind !== 'text') this.#openText(events);
      const open = this.#open as OpenItem & { kind: 'text' };
      open.text += text;
      events.push(this.#event('response.output_text.delta', { item_id: open.id, output_index: open.outputIndex, content_index: 0, delta: text, logprobs: [] }));
    }
    for (const call of delta.tool_calls ?? []) {
      let open = this.#callOf.get(call.index);
      if (!open) {
        this.#close(events);
        const outputIndex = this.#output.length;
        open = { kind: 'call', outputIndex, id: `fc_${this.#base}_${call.index}`, callId: call.id ?? `call_${this.#base}_${call.index}`, name: call.function?.name ?? '', arguments: '' };
        this.#callOf.set(call.index, open);
        this.#open = open;
        this.#output.push(this.#callItem(open, 'in_progress'));
        events.push(this.#event('response.output_item.added', { output_index: outputIndex, item: this.#callItem(open, 'in_progress') }));
      }
      const partial = call.function?.arguments ?? '';
      if (partial.length > 0) {
        open.arguments += partial;
        events.push(this.#event('response.function_call_arguments.delta', { item_id: open.id, output_index: open.outputIndex, delta: partial }));
      }
    }
    if (choice.finish_reason) this.#finishReason = choice.finish_reason;
    return events;
  }

  /** The events that end a good stream: the open item's done events, then response.completed (or .incomplete) with the usage. */
  finish(): ResponsesSseEvent[] {
    const events: ResponsesSseEvent[] = [];
    if (!this.#started) this.#start(events, undefined);
    this.#close(events);
    const { status } = statusOf(this.#finishReason);
    const response = this.#snapshot(status);
    response.usage = toResponsesUsage(this.options.usage?.() ?? this.#chunkUsage);
    events.push(this.#event(status === 'incomplete' ? 'response.incomplete' : 'response.completed', { response }));
    return events;
  }

  /** A failure mid-stream: OpenAI's `error` event, then response.failed naming the error. */
  fail(error: CovenantError): ResponsesSseEvent[] {
    const events: ResponsesSseEvent[] = [];
    if (!this.#started) this.#start(events, undefined);
    events.push(this.#event('error', { code: error.code, message: error.message, param: error.param ?? null }));
    const response = this.#snapshot('failed');
    response.error = { code: error.code, message: error.message };
    events.push(this.#event('response.failed', { response }));
    return events;
  }

  #event(type: string, fields: Record<string, unknown>): ResponsesSseEvent {
    return { type, ...fields, sequence_number: this.#sequence++ };
  }

  #start(events: ResponsesSseEvent[], chunk: ChatChunk | undefined): void {
    this.#started = true;
    if (chunk?.id) {
      this.#base = chunk.id;
      this.#id = toResponseId(chunk.id);
    }
    if (typeof chunk?.created === 'number') this.#createdAt = chunk.created;
    events.push(this.#event('response.created', { response: this.#snapshot('in_progress') }));
    events.push(this.#event('response.in_progress', { response: this.#snapshot('in_progress') }));
  }

  #snapshot(status: ResponseJson['status']): ResponseJson {
    return {
      id: this.#id,
      object: 'response',
      created_at: this.#createdAt,
      status,
      error: null,
      incomplete_details: status === 'incomplete' ? statusOf(this.#finishReason).incomplete_details : null,
      model: this.model,
      output: this.#output.map((item) => ({ ...item })),
      usage: null,
      ...echoOf(this.options.request),
    };
  }

  #openText(events: ResponsesSseEvent[]): void {
    this.#close(events);
    const outputIndex = this.#output.length;
    const open: OpenItem = { kind: 'text', outputIndex, id: `msg_${this.#base}${outputIndex === 0 ? '' : `_${outputIndex}`}`, text: '' };
    this.#open = open;
    const item: OutputItem = { type: 'message', id: open.id, status: 'in_progress', role: 'assistant', content: [] };
    this.#output.push(item);
    events.push(this.#event('response.output_item.added', { output_index: outputIndex, item }));
    events.push(this.#event('response.content_part.added', { item_id: open.id, output_index: outputIndex, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } }));
  }

  #close(events: ResponsesSseEvent[]): void {
    const open = this.#open;
    if (!open) return;
    this.#open = undefined;
    const status = this.#finishReason === 'length' ? 'incomplete' : 'completed';
    if (open.kind === 'text') {
      const part = { type: 'output_text' as const, text: open.text, annotations: [] };
      events.push(this.#event('response.output_text.done', { item_id: open.id, output_index: open.outputIndex, content_index: 0, text: open.text, logprobs: [] }));
      events.push(this.#event('response.content_part.done', { item_id: open.id, output_index: open.outputIndex, content_index: 0, part }));
      const item: OutputItem = { type: 'message', id: open.id, status, role: 'assistant', content: [part] };
      this.#output[open.outputIndex] = item;
      events.push(this.#event('response.output_item.done', { output_index: open.outputIndex, item }));
      return;
    }
    events.push(this.#event('response.function_call_arguments.done', { item_id: open.id, output_index: open.outputIndex, name: open.name, arguments: open.arguments }));
    const item = this.#callItem(open, status);
    this.#output[open.outputIndex] = item;
    events.push(this.#event('response.output_item.done', { output_index: open.outputIndex, item }));
  }

  #callItem(open: OpenItem & { kind: 'call' }, status: 'in_progress' | 'completed' | 'incomplete'): OutputItem {
    return { type: 'function_call', id: open.id, call_id: open.callId, name: open.name, arguments: status === 'in_progress' ? '' : open.arguments, status };
  }
}

/** One SSE message as OpenAI sends Responses events: the event line names the type. */
export function formatResponsesEvent(event: ResponsesSseEvent): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}
