// Request cost from token usage and a model's price: exact integer arithmetic, rounded up to the micro-dollar.
import type { Usage } from './chat-types.js';
import { divideRoundingUp } from './money.js';

/** Prices in integer micro-dollars per million tokens. */
export interface ModelPricing {
  inputMicrosPerMtok: number;
  outputMicrosPerMtok: number;
  /** Price of input tokens read from the prompt cache; defaults to the input price. */
  cachedInputMicrosPerMtok: number;
  /** Price of input tokens written to the prompt cache; defaults to the input price. */
  cacheWriteMicrosPerMtok: number;
}

const million = 1_000_000n;

/**
 * Cost of a request in micro-dollars, rounded up. Cached and cache-write tokens are parts of
 * inputTokens and are charged at their own rates; the rest of the input at the input rate.
 * @example costMicros({inputTokens: 1000, outputTokens: 100, ...}, gpt4oMini) // 150 + 60 = 210
 */
export function costMicros(usage: Usage, pricing: ModelPricing): number {
  const plainInput = Math.max(0, usage.inputTokens - usage.cachedInputTokens - usage.cacheWriteTokens);
  const total = BigInt(plainInput) * BigInt(pricing.inputMicrosPerMtok)
    + BigInt(usage.cachedInputTokens) * BigInt(pricing.cachedInputMicrosPerMtok)
    + BigInt(usage.cacheWriteTokens) * BigInt(pricing.cacheWriteMicrosPerMtok)
    + BigInt(usage.outputTokens) * BigInt(pricing.outputMicrosPerMtok);
  return Number(divideRoundingUp(total, million));
}

/** The most a request can cost: every input token at the highest input rate, plus the full output allowance. */
export function worstCaseCostMicros(promptTokens: number, maxOutputTokens: number, pricing: ModelPricing): number {
  const inputRate = Math.max(pricing.inputMicrosPerMtok, pricing.cacheWriteMicrosPerMtok);
  const total = BigInt(promptTokens) * BigInt(inputRate) + BigInt(maxOutputTokens) * BigInt(pricing.outputMicrosPerMtok);
  return Number(divideRoundingUp(total, million));
}

/**
 * The most output tokens a budget of `availableMicros` can pay for after the prompt, so that
 * worstCaseCostMicros(promptTokens, result, pricing) <= availableMicros. Returns Infinity for free output.
 */
export function affordableOutputTokens(availableMicros: number, promptTokens: number, pricing: ModelPricing): number {
  const inputRate = Math.max(pricing.inputMicrosPerMtok, pricing.cacheWriteMicrosPerMtok);
  const budget = BigInt(Math.max(0, availableMicros)) * million - BigInt(promptTokens) * BigInt(inputRate);
  if (budget < 0n) return 0;
  if (pricing.outputMicrosPerMtok === 0) return Number.POSITIVE_INFINITY;
  return Number(budget / BigInt(pricing.outputMicrosPerMtok));
}
