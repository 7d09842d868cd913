// Pipeline observer for live drift: each completed chat call's latency and output tokens, by alias, version and prompt shape.
import { performance } from 'node:perf_hooks';
import type { ChatRequest } from '../../core/chat-types.js';
import type { LiveDrift } from '../../drift/live.js';
import type { FinishedContext, Stage } from '../context.js';

/** Messages beyond this many are counted, not listed, so a shape stays short. */
const listedMessages = 32;

/**
 * The structure of a request, never its content: the route, whether it streams, the roles in order, the message count
 * and the tool names. Calls of one shape are comparable; calls of different shapes are not.
 */
export function promptShape(request: Partial<ChatRequest>, route: string, stream: boolean): string {
  const messages = Array.isArray(request.messages) ? request.messages : [];
  // Built in one pass (it runs on every call): the same text as the listed roles joined by commas.
  let roles = '';
  const listed = Math.min(messages.length, listedMessages);
  for (let index = 0; index < listed; index++) roles += (index === 0 ? '' : ',') + (messages[index]!.role ?? '');
  const tools = Array.isArray(request.tools) && request.tools.length > 0 ? request.tools.map((tool) => tool.function?.name ?? '').sort().join(',') : '';
  return `${route}|${stream ? 'stream' : 'json'}|${messages.length}|${roles}|${tools}`;
}

/** Observes only: completed calls with reported usage whose client stayed; refusals, failures and estimates are not measures. */
export function createDriftStage(drift: LiveDrift): Stage {
  return {
    name: 'drift',
    finished(context: FinishedContext) {
      if (context.model === null || context.route === 'embeddings' || context.outcome.kind !== 'completed') return;
      if (context.outcome.clientGone || context.usageEstimated || context.usage === undefined) return;
      drift.observe({
        alias: context.model.alias,
        version: context.model.version,
        shape: promptShape(context.clientRequest as Partial<ChatRequest>, context.route, context.stream),
        latencyMs: performance.now() - context.startedAt,
        outputTokens: context.usage.outputTokens,
      });
    },
  };
}
