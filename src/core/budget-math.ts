// Reservation math (pure): how many output tokens every applicable budget affords, and what to reserve in each.
import type { Period } from './budget-types.js';
import { affordableOutputTokens, worstCaseCostMicros, type ModelPricing } from './pricing.js';

export type BudgetUnit = 'usd' | 'tokens';

/** One budget that applies to a request, with its counter in the current window. Amounts: micros (usd) or tokens. */
export interface BudgetState {
  scope: string;
  /** How a refusal names the scope to people (e.g. key:claims/triage-bot for key:<id>); default: scope. */
  label?: string;
  unit: BudgetUnit;
  period: Period;
  counterKey: string;
  limit: number;
  spent: number;
  reserved: number;
}

export interface BudgetDecisionInput {
  budgets: readonly BudgetState[];
  pricing: ModelPricing;
  promptTokens: number;
  /** The client's max_tokens (or max_completion_tokens); undefined when it sent none. */
  requestedMaxTokens?: number | null;
  /** The model's largest output: the ceiling for max_tokens, and what an absent max_tokens means. */
  modelMaxOutput: number;
  /** Refuse only when less than this is affordable (budgets.min_output_tokens). */
  minOutputTokens: number;
  /** Completions requested (`n`): each may produce max_tokens. Default 1. */
  choices?: number;
}

export interface ReservationAmount {
  counterKey: string;
  amount: number;
  limit: number;
}

export interface BudgetAllow {
  allow: true;
  /** The max_tokens to send upstream (and in x-covenant-max-tokens). */
  maxTokens: number;
  /** True when maxTokens is below what the client asked for (or the model maximum, when it asked for nothing). */
  lowered: boolean;
  /** The budget that set maxTokens when one did; undefined when no budget constrained it. */
  tightest?: BudgetState;
  amounts: ReservationAmount[];
}

export interface BudgetRefuse {
  allow: false;
  /** The tightest budget: the one that affords the fewest output tokens. */
  budget: BudgetState;
  affordableOutputTokens: number;
}

export type BudgetDecision = BudgetAllow | BudgetRefuse;

/** Output tokens (over all choices) that `budget` can still pay for after the prompt. */
export function affordableOutput(budget: BudgetState, promptTokens: number, pricing: ModelPricing): number {
  const available = Math.max(0, budget.limit - budget.spent - budget.reserved);
  if (budget.unit === 'tokens') return Math.max(0, available - promptTokens);
  return affordableOutputTokens(available, promptTokens, pricing);
}

/** What a request with `maxTokens` output per choice reserves in `budget`: its worst case. */
export function reservationAmount(unit: BudgetUnit, promptTokens: number, outputTokens: number, pricing: ModelPricing): number {
  return unit === 'tokens' ? promptTokens + outputTokens : worstCaseCostMicros(promptTokens, outputTokens, pricing);
}

/**
 * Decide a request against every budget that applies: allow with max_tokens lowered to what the tightest
 * budget affords, or refuse when that is below the minimum useful output. Every allowed amount fits its
 * budget's headroom (limit - spent - reserved), so reserving all of them can never pass a limit.
 * @example decideBudget({budgets: [day], pricing, promptTokens: 100, modelMaxOutput: 16384, minOutputTokens: 16})
 */
export function decideBudget(input: BudgetDecisionInput): BudgetDecision {
  const choices = Math.max(1, Math.floor(input.choices ?? 1));
  const modelMax = Math.max(1, Math.floor(input.modelMaxOutput));
  const requested = input.requestedMaxTokens == null ? modelMax : Math.max(1, Math.floor(input.requestedMaxTokens));
  const ceiling = Math.min(requested, modelMax);
  // A client asking for fewer tokens than the minimum gets what it asked for when that is affordable.
  const minimum = Math.min(Math.max(1, input.minOutputTokens), ceiling);
  let maxTokens = ceiling;
  let tightest: BudgetState | undefined;
  let tightestAffordable = Number.POSITIVE_INFINITY;
  // What the ceiling costs in each unit: a budget whose headroom pays for it affords at least the ceiling, and its
  // exact count (BigInt arithmetic for large budgets) would change nothing, so it counts as the ceiling.
  const ceilingUsd = reservationAmount('usd', input.promptTokens, ceiling * choices, input.pricing);
  const ceilingTokens = reservationAmount('tokens', input.promptTokens, ceiling * choices, input.pricing);
  for (const budget of input.budgets) {
    const headroom = budget.limit - budget.spent - budget.reserved;
    const perChoice = headroom >= (budget.unit === 'usd' ? ceilingUsd : ceilingTokens)
      ? ceiling
      : Math.floor(affordableOutput(budget, input.promptTokens, input.pricing) / choices);
    if (perChoice < tightestAffordable) {
      tightestAffordable = perChoice;
      tightest = budget;
    }
  }
  if (tightest && tightestAffordable < minimum) {
    return { allow: false, budget: tightest, affordableOutputTokens: tightestAffordable };
  }
  if (tightestAffordable < maxTokens) maxTokens = tightestAffordable;
  else tightest = undefined;
  const usdAmount = maxTokens === ceiling ? ceilingUsd : reservationAmount('usd', input.promptTokens, maxTokens * choices, input.pricing);
  const tokensAmount = maxTokens === ceiling ? ceilingTokens : reservationAmount('tokens', input.promptTokens, maxTokens * choices, input.pricing);
  const amounts = input.budgets.map((budget) => ({
    counterKey: budget.counterKey,
    amount: budget.unit === 'usd' ? usdAmount : tokensAmount,
    limit: budget.limit,
  }));
  return { allow: true, maxTokens, lowered: maxTokens < requested, tightest, amounts };
}

/**
 * A counter's key: scope, budget (unit and period) and window, e.g. `department:claims|usd:day|2024-03-10`.
 * Scopes may hold any character (user ids do), so parsing splits from the right; the other parts never hold '|'.
 */
export function counterKeyFor(scope: string, unit: BudgetUnit, period: Period, windowKey: string): string {
  return `${scope}|${unit}:${period}|${windowKey}`;
}

export interface CounterKeyParts {
  scope: string;
  unit: BudgetUnit;
  period: Period;
  windowKey: string;
}

export function parseCounterKey(counterKey: string): CounterKeyParts {
  const windowAt = counterKey.lastIndexOf('|');
  const budgetAt = counterKey.lastIndexOf('|', windowAt - 1);
  if (windowAt < 0 || budgetAt < 0) throw new Error(`Not a budget counter key: "${counterKey}"`);
  const [unit, period] = counterKey.slice(budgetAt + 1, windowAt).split(':') as [BudgetUnit, Period];
  return { scope: counterKey.slice(0, budgetAt), unit, period, windowKey: counterKey.slice(windowAt + 1) };
}
