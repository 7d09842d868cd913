// A fast fake OpenAI upstream for the load benchmark: POST /v1/chat/completions (JSON and SSE, with usage), nothing else.
//
// Why not test/fakes/openai.ts: that fake keeps a bill, records requests and counts tokens exactly, which is right
// for tests but is work the benchmark would measure as "upstream time". This one does the least a real upstream
// must (read and parse the body, answer an OpenAI-shaped body with usage) so the proxies in front of it are what
// the numbers show. Run as its own process: `node bench/fake-upstream.mjs [--port N] [--output-tokens N]`;
// prints `fake upstream listening on http://127.0.0.1:PORT` when ready.
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'output-tokens': { type: 'string', default: '16' },
  },
});
const outputTokens = Number(values['output-tokens']);
const words = ['Hello', ' from', ' the', ' fake', ' upstream', ',', ' a', ' benchmark', ' reply', '.'];
let sequence = 0;

/** A cheap token count for the prompt: OpenAI's rule of thumb of four bytes a token, at least one. */
function promptTokens(messages) {
  let bytes = 0;
  for (const message of messages) bytes += typeof message.content === 'string' ? Buffer.byteLength(message.content) : 16;
  return Math.max(1, Math.ceil(bytes / 4)) + 3 * messages.length + 3;
}

function usageOf(prompt, completion) {
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

function pieces(limit) {
  const count = Math.min(outputTokens, limit);
  const result = [];
  for (let index = 0; index < count; index++) result.push(words[index % words.length]);
  return result;
}

function sendError(response, status, message) {
  const text = JSON.stringify({ error: { message, type: 'invalid_request_error', param: null, code: null } });
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

function chat(response, body) {
  if (!Array.isArray(body.messages) || body.messages.length === 0) return sendError(response, 400, 'messages must be a non-empty array');
  const limit = body.max_completion_tokens ?? body.max_tokens ?? Number.POSITIVE_INFINITY;
  const reply = pieces(limit);
  const finishReason = reply.length < outputTokens ? 'length' : 'stop';
  const usage = usageOf(promptTokens(body.messages), reply.length);
  const id = `chatcmpl-bench${++sequence}`;
  const created = Math.floor(Date.now() / 1000);
  const model = body.model;
  const fingerprint = 'fp_bench';
  if (body.stream !== true) {
    const text = JSON.stringify({
      id, object: 'chat.completion', created, model, system_fingerprint: fingerprint,
      choices: [{ index: 0, message: { role: 'assistant', content: reply.join(''), refusal: null, annotations: [] }, logprobs: null, finish_reason: finishReason }],
      usage, service_tier: 'default',
    });
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    response.end(text);
    return;
  }
  // SSE as OpenAI sends it: a role chunk, one chunk a token, the finish chunk, the usage chunk if asked, [DONE].
  response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  const frame = (choices, extra) => `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, system_fingerprint: fingerprint, choices, ...extra })}\n\n`;
  const wantsUsage = body.stream_options?.include_usage === true;
  const nullUsage = wantsUsage ? { usage: null } : undefined;
  response.write(frame([{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }], nullUsage));
  for (const piece of reply) response.write(frame([{ index: 0, delta: { content: piece }, logprobs: null, finish_reason: null }], nullUsage));
  response.write(frame([{ index: 0, delta: {}, logprobs: null, finish_reason: finishReason }], nullUsage));
  if (wantsUsage) response.write(frame([], { usage }));
  response.end('data: [DONE]\n\n');
}

const server = createServer((request, response) => {
  if (request.method !== 'POST' || !request.url.startsWith('/v1/chat/completions')) {
    request.resume();
    return sendError(response, 404, `no route ${request.method} ${request.url}`);
  }
  const chunks = [];
  request.on('data', (chunk) => chunks.push(chunk));
  request.on('end', () => {
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return sendError(response, 400, 'body is not JSON');
    }
    chat(response, body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(values.port), '127.0.0.1', () => {
  process.stdout.write(`fake upstream listening on http://127.0.0.1:${server.address().port}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
