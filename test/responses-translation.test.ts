// The /v1/responses mappers, pure: Responses request -> chat request, chat response -> Response object, chat chunks -> Responses SSE events.
import { describe, expect, it } from 'vitest';
import type { ChatChunk, ChatResponse } from '../src/core/chat-types.js';
import { CovenantError } from '../src/core/errors.js';
import { ChatToResponsesEvents, chatResponseToResponses, formatResponsesEvent, responsesRequestToChat } from '../src/gateway/responses/index.js';

/** Chunks as OpenAI's chat streams send them (role chunk, content, finish, usage). */
function chunk(delta: Record<string, unknown>, finish: string | null = null, usage?: Record<string, unknown>): ChatChunk {
  return { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1741290958, model: 'gpt-4o-mini', choices: usage ? [] : [{ index: 0, delta, finish_reason: finish }], ...(usage ? { usage } : {}) } as unknown as ChatChunk;
}

describe('responsesRequestToChat', () => {
  it('turns instructions and a string input into a system and a user message', () => {
    const { request, warnings, openAIOnly, stream } = responsesRequestToChat({ model: 'gpt-4.1', instructions: 'Talk like a pirate.', input: 'Are semicolons optional in JavaScript?' });
    expect(request).toEqual({ model: 'gpt-4.1', messages: [{ role: 'system', content: 'Talk like a pirate.' }, { role: 'user', content: 'Are semicolons optional in JavaScript?' }] });
    expect(warnings).toEqual([]);
    expect(openAIOnly).toEqual([]);
    expect(stream).toBe(false);
  });

  it('translates items: message parts, a function call joined to the assistant turn before it, its output as a tool message', () => {
    const { request } = responsesRequestToChat({
      model: 'm', max_output_tokens: 200, stream: true, temperature: 0.2, parallel_tool_calls: false, user: 'u-1', reasoning: { effort: 'low' },
      input: [
        { role: 'developer', content: 'Use tools.' },
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Weather in Paris?' }, { type: 'input_image', image_url: 'https://example.com/a.png', detail: 'low' }] },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Checking.', annotations: [] }] },
        { type: 'function_call', id: 'fc_1', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
        { type: 'function_call_output', call_id: 'call_1', output: '{"temperature":21}' },
      ],
      tools: [{ type: 'function', name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: true }],
      tool_choice: { type: 'function', name: 'get_weather' },
    });
    expect(request).toEqual({
      model: 'm', max_tokens: 200, stream: true, stream_options: { include_usage: true }, temperature: 0.2, parallel_tool_calls: false, user: 'u-1', reasoning_effort: 'low',
      messages: [
        { role: 'system', content: 'Use tools.' },
        { role: 'user', content: [{ type: 'text', text: 'Weather in Paris?' }, { type: 'image_url', image_url: { url: 'https://example.com/a.png', detail: 'low' } }] },
        { role: 'assistant', content: 'Checking.', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: '{"temperature":21}' },
      ],
      tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: true } }],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
    });
  });

  it('maps text.format to response_format', () => {
    const schema = { type: 'object', properties: { name: { type: 'string' } }, required: ['name'], additionalProperties: false };
    expect(responsesRequestToChat({ model: 'm', input: 'x', text: { format: { type: 'json_schema', name: 'person', schema, strict: true } } }).request.response_format)
      .toEqual({ type: 'json_schema', json_schema: { name: 'person', schema, strict: true } });
    expect(responsesRequestToChat({ model: 'm', input: 'x', text: { format: { type: 'json_object' } } }).request.response_format).toEqual({ type: 'json_object' });
    expect(responsesRequestToChat({ model: 'm', input: 'x', text: { format: { type: 'text' } } }).request.response_format).toBeUndefined();
  });

  it('names what only OpenAI can serve, and warns about what it drops', () => {
    const translated = responsesRequestToChat({
      model: 'm', previous_response_id: 'resp_1', store: true, background: true, conversation: 'conv_1', prompt: { id: 'pmpt_1' },
      input: [{ type: 'item_reference', id: 'msg_1' }, { role: 'user', content: [{ type: 'input_file', file_id: 'file-1' }, { type: 'input_audio', input_audio: { data: '', format: 'wav' } }] }, { type: 'reasoning', id: 'rs_1', summary: [] }],
      tools: [{ type: 'web_search' }], tool_choice: { type: 'file_search' }, truncation: 'auto', include: ['reasoning.encrypted_content'],
      reasoning: { summary: 'auto' }, text: { verbosity: 'low' },
    });
    expect(translated.openAIOnly).toEqual([
      'previous_response_id', 'conversation', 'store', 'prompt', 'background', 'input[0] (type "item_reference")', 'input[1].content[0] (type "input_file")', 'input[1].content[1] (type "input_audio")',
      'tools[0] (type "web_search")', 'tool_choice (type "file_search")',
    ]);
    expect(translated.warnings.join('\n')).toMatch(/input\[2\]: reasoning items/);
    expect(translated.warnings.join('\n')).toMatch(/reasoning.summary/);
    expect(translated.warnings.join('\n')).toMatch(/text.verbosity/);
    expect(translated.warnings.join('\n')).toMatch(/truncation is not translated/);
    expect(translated.warnings.join('\n')).toMatch(/include is not translated/);
  });

  it('store: false is no stateful request', () => {
    expect(responsesRequestToChat({ model: 'm', input: 'x', store: false }).openAIOnly).toEqual([]);
  });

  it('answers a bad body with a 400 naming the field', () => {
    const refusal = (body: unknown) => {
      try {
        responsesRequestToChat(body);
      } catch (error) {
        return error as CovenantError;
      }
      throw new Error('no refusal');
    };
    expect(refusal({ input: 'x' })).toMatchObject({ status: 400, param: 'model' });
    expect(refusal({ model: 'm', input: 5 })).toMatchObject({ status: 400, param: 'input' });
    expect(refusal({ model: 'm', input: 'x', max_output_tokens: 0 })).toMatchObject({ status: 400, param: 'max_output_tokens' });
    // A known part type with a missing field is a bad body, not an unknown part.
    expect(refusal({ model: 'm', input: [{ role: 'user', content: [{ type: 'input_text' }] }] })).toMatchObject({ status: 400 });
    expect(refusal([])).toMatchObject({ status: 400 });
  });
});

describe('chatResponseToResponses', () => {
  const chat = (message: Record<string, unknown>, finish: string): ChatResponse => ({
    id: 'chatcmpl-1', object: 'chat.completion', created: 1741476542, model: 'gpt-4.1-2025-04-14',
    choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason: finish }],
    usage: { prompt_tokens: 36, completion_tokens: 87, total_tokens: 123, prompt_tokens_details: { cached_tokens: 4 }, completion_tokens_details: { reasoning_tokens: 9 } },
  }) as unknown as ChatResponse;

  it('builds the documented Response object: a message item with output_text, usage with cached and reasoning tokens', () => {
    const response = chatResponseToResponses(chat({ content: 'In a peaceful grove…' }, 'stop'), 'gpt-4.1-2025-04-14', undefined, undefined);
    expect(response).toMatchObject({
      id: 'resp_chatcmpl-1', object: 'response', created_at: 1741476542, status: 'completed', error: null, incomplete_details: null,
      model: 'gpt-4.1-2025-04-14',
      output: [{ type: 'message', id: 'msg_chatcmpl-1', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'In a peaceful grove…', annotations: [] }] }],
      usage: { input_tokens: 36, input_tokens_details: { cached_tokens: 4 }, output_tokens: 87, output_tokens_details: { reasoning_tokens: 9 }, total_tokens: 123 },
      parallel_tool_calls: true, previous_response_id: null, store: false, text: { format: { type: 'text' } }, tool_choice: 'auto', tools: [], truncation: 'disabled',
    });
  });

  it('turns tool calls into function_call items and a cut answer into status incomplete', () => {
    const called = chatResponseToResponses(chat({ content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] }, 'tool_calls'), 'm');
    expect(called.output).toEqual([{ type: 'function_call', id: 'fc_chatcmpl-1_0', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}', status: 'completed' }]);
    const cut = chatResponseToResponses(chat({ content: 'In a' }, 'length'), 'm');
    expect(cut.status).toBe('incomplete');
    expect(cut.incomplete_details).toEqual({ reason: 'max_output_tokens' });
  });
});

describe('ChatToResponsesEvents', () => {
  it('streams text as the documented event sequence, numbered from 0, usage in response.completed', () => {
    const translation = new ChatToResponsesEvents('gpt-4o-mini');
    const events = [
      ...translation.push(chunk({ role: 'assistant', content: '' })),
      ...translation.push(chunk({ content: 'Hi' })),
      ...translation.push(chunk({ content: ' there' })),
      ...translation.push(chunk({}, 'stop')),
      ...translation.push(chunk({}, null, { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 })),
      ...translation.finish(),
    ];
    expect(events.map((event) => event.type)).toEqual([
      'response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added',
      'response.output_text.delta', 'response.output_text.delta', 'response.output_text.done', 'response.content_part.done',
      'response.output_item.done', 'response.completed',
    ]);
    expect(events.map((event) => event.sequence_number)).toEqual(events.map((_, index) => index));
    expect(events[2]).toEqual({ type: 'response.output_item.added', output_index: 0, item: { type: 'message', id: 'msg_chatcmpl-1', status: 'in_progress', role: 'assistant', content: [] }, sequence_number: 2 });
    expect(events[4]).toEqual({ type: 'response.output_text.delta', item_id: 'msg_chatcmpl-1', output_index: 0, content_index: 0, delta: 'Hi', logprobs: [], sequence_number: 4 });
    expect(events[6]).toMatchObject({ type: 'response.output_text.done', text: 'Hi there' });
    expect(events[7]).toMatchObject({ part: { type: 'output_text', text: 'Hi there', annotations: [] } });
    const completed = events[9] as unknown as { response: { status: string; output: unknown[]; usage: unknown } };
    expect(completed.response.status).toBe('completed');
    expect(completed.response.output).toEqual([{ type: 'message', id: 'msg_chatcmpl-1', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Hi there', annotations: [] }] }]);
    expect(completed.response.usage).toEqual({ input_tokens: 5, input_tokens_details: { cached_tokens: 0 }, output_tokens: 2, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 7 });
    expect(formatResponsesEvent(events[0]!)).toMatch(/^event: response\.created\ndata: \{"type":"response\.created",.*\}\n\n$/s);
  });

  it('streams a function call as output_item.added, arguments deltas and done, then response.incomplete when cut', () => {
    const translation = new ChatToResponsesEvents('m');
    const events = [
      ...translation.push(chunk({ role: 'assistant', content: null, tool_calls: [{ index: 0, id: 'call_9', type: 'function', function: { name: 'get_weather', arguments: '' } }] })),
      ...translation.push(chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] })),
      ...translation.push(chunk({ tool_calls: [{ index: 0, function: { arguments: '"Pa' } }] }, 'length')),
      ...translation.finish(),
    ];
    expect(events.map((event) => event.type)).toEqual([
      'response.created', 'response.in_progress', 'response.output_item.added', 'response.function_call_arguments.delta',
      'response.function_call_arguments.delta', 'response.function_call_arguments.done', 'response.output_item.done', 'response.incomplete',
    ]);
    expect(events[2]).toMatchObject({ item: { type: 'function_call', id: 'fc_chatcmpl-1_0', call_id: 'call_9', name: 'get_weather', arguments: '', status: 'in_progress' } });
    expect(events[5]).toMatchObject({ item_id: 'fc_chatcmpl-1_0', output_index: 0, name: 'get_weather', arguments: '{"city":"Pa' });
    expect((events[7] as unknown as { response: { incomplete_details: unknown } }).response.incomplete_details).toEqual({ reason: 'max_output_tokens' });
  });

  it('ends a failed stream with an error event and response.failed', () => {
    const translation = new ChatToResponsesEvents('m');
    translation.push(chunk({ content: 'Hi' }));
    const events = translation.fail(new CovenantError('upstream_error', 'Provider "x" broke off its answer.'));
    expect(events.map((event) => event.type)).toEqual(['error', 'response.failed']);
    expect(events[0]).toMatchObject({ code: 'upstream_error', message: 'Provider "x" broke off its answer.', param: null });
    expect(events[1]).toMatchObject({ response: { status: 'failed', error: { code: 'upstream_error' } } });
  });
});
