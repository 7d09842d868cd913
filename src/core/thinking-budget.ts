// OpenAI's reasoning_effort as a thinking-token budget, for providers that take a budget (Anthropic, Gemini); pure.

/**
 * The smallest budget sent: Anthropic rejects budget_tokens below 1,024
 * (https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking#how-to-use-extended-thinking), and every
 * Gemini 2.5 model accepts 1,024 (https://ai.google.dev/gemini-api/docs/thinking#set-budget).
 */
export const minimumThinkingBudget = 1024;

/**
 * Thinking tokens per effort: the table Google's own OpenAI compatibility layer uses for reasoning_effort
 * (https://ai.google.dev/gemini-api/docs/openai#thinking: low 1,024, medium 8,192, high 24,576); minimal, which
 * Chat Completions offers below low, takes the smallest budget Anthropic accepts, the same as low.
 */
export const thinkingBudgetByEffort: Readonly<Record<string, number>> = Object.freeze({
  minimal: minimumThinkingBudget,
  low: 1024,
  medium: 8192,
  high: 24576,
});

export interface ThinkingBudget {
  /** Thinking tokens to ask for; 0 when the client asked for no reasoning, undefined when none is to be sent. */
  budget: number | undefined;
  warnings: string[];
}

/**
 * The budget for a reasoning_effort, kept below the request's output limit (both providers generate the thinking
 * within that limit, so a budget at or above it would leave no room for the answer and Anthropic rejects it).
 * An effort that cannot fit the minimum is dropped with a warning rather than failing the request.
 * @example thinkingBudgetFor('medium', 4096, 'Anthropic')
 *   // {budget: 4095, warnings: ['reasoning_effort "medium" asks for 8192 thinking tokens; 4095 were asked of Anthropic, below the output limit of 4096.']}
 */
export function thinkingBudgetFor(effort: unknown, maxTokens: number | undefined, provider: string): ThinkingBudget {
  if (effort == null) return { budget: undefined, warnings: [] };
  if (effort === 'none') return { budget: 0, warnings: [] };
  const wanted = typeof effort === 'string' && Object.hasOwn(thinkingBudgetByEffort, effort) ? thinkingBudgetByEffort[effort] : undefined;
  if (wanted === undefined) {
    return { budget: undefined, warnings: [`reasoning_effort ${JSON.stringify(effort)} is not one of none, minimal, low, medium, high; it was ignored for ${provider}.`] };
  }
  if (maxTokens === undefined || wanted < maxTokens) return { budget: wanted, warnings: [] };
  const room = maxTokens - 1;
  if (room < minimumThinkingBudget) {
    return { budget: undefined, warnings: [`reasoning_effort "${effort}" needs at least ${minimumThinkingBudget} thinking tokens below the output limit, which is ${maxTokens}; ${provider} was asked without a thinking budget.`] };
  }
  return { budget: room, warnings: [`reasoning_effort "${effort}" asks for ${wanted} thinking tokens; ${room} were asked of ${provider}, below the output limit of ${maxTokens}.`] };
}
