// OpenAI reasoning_effort -> Anthropic extended thinking (thinking.budget_tokens) and the sampling limits it brings; pure.
import type { ChatMessage, ChatRequest } from '../../core/chat-types.js';
import { thinkingBudgetFor } from '../../core/thinking-budget.js';
import type { AnthropicRequest } from './anthropic-api-schema.js';

/** The top_p range Anthropic allows with thinking on (extended-thinking docs, "Feature compatibility"). */
const lowestTopPWithThinking = 0.95;

/**
 * Turn the request's reasoning_effort into `thinking: {type: "enabled", budget_tokens}` on an already converted body.
 * https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking: budget_tokens is at least 1,024 and below
 * max_tokens, and the thinking is generated within max_tokens, so the output limit the budget stage reserved still
 * bounds the bill; thinking tokens are billed as output tokens. Thinking is not compatible with temperature or
 * top_k changes, top_p below 0.95, or forced tool use, and a turn that continues a tool call must start with the
 * thinking block (with its signature) that preceded the call, which the chat shape does not carry back.
 * @example applyAnthropicThinking({model: 'm', messages: [], reasoning_effort: 'low'}, body, warnings)
 *   // body.thinking = {type: 'enabled', budget_tokens: 1024}
 */
export function applyAnthropicThinking(request: ChatRequest, body: AnthropicRequest, warnings: string[]): void {
  const { budget, warnings: budgetWarnings } = thinkingBudgetFor(request.reasoning_effort, body.max_tokens, 'Anthropic');
  warnings.push(...budgetWarnings);
  // Without a budget (none asked for, or none that fits) Anthropic answers without thinking, its default.
  if (!budget) return;
  const effort = String(request.reasoning_effort);
  if (body.tool_choice?.type === 'any' || body.tool_choice?.type === 'tool') {
    warnings.push(`reasoning_effort "${effort}" was ignored: Anthropic does not think when tool_choice forces a tool call.`);
    return;
  }
  if (continuesToolCall(request.messages)) {
    warnings.push(`reasoning_effort "${effort}" was ignored: Anthropic needs the earlier thinking block back to think while answering a tool result.`);
    return;
  }
  body.thinking = { type: 'enabled', budget_tokens: budget };
  if (body.temperature !== undefined && body.temperature !== 1) {
    warnings.push(`temperature ${body.temperature} cannot be set with Anthropic's extended thinking and was left out.`);
    delete body.temperature;
  }
  if (body.top_p !== undefined && body.top_p < lowestTopPWithThinking) {
    warnings.push(`top_p ${body.top_p} is below the ${lowestTopPWithThinking} Anthropic allows with extended thinking and was left out.`);
    delete body.top_p;
  }
  if (body.top_k !== undefined) {
    warnings.push('top_k cannot be set with Anthropic\'s extended thinking and was left out.');
    delete body.top_k;
  }
}

/** Whether the last assistant message called tools: its results continue that assistant turn. */
function continuesToolCall(messages: ChatMessage[]): boolean {
  for (let index = messages.length - 1; index >= 0; index--) {
    const message = messages[index];
    if (message.role === 'assistant') return (message.tool_calls?.length ?? 0) > 0;
  }
  return false;
}
