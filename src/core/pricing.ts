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
 * Sums and products of non-negative integers up to this are exact in a double (2^52 rather than 2^53, so the
 * quotient fix-up below stays exact too); past it the BigInt path takes over. A request's amounts are far below
 * it, so the common case allocates no BigInt.
 */
const exactLimit = 2 ** 52;

/** floor(numerator / denominator) for integers 0 <= numerator <= exactLimit and 0 < denominator <= exactLimit. */
function floorDivide(numerator: number, denominator: number): number {
  let quotient = Math.floor(numerator / denominator);
  // The division is rounded; the exact remainder corrects a quotient one off.
  const remainder = numerator - quotient * denominator;
  if (remainder < 0) quotient -= 1;
  else if (remainder >= denominator) quotient += 1;
  return quotient;
}

/** ceil(numerator / 1e6) for integers 0 <= numerator <= exactLimit. */
function microsRoundingUp(numerator: number): number {
  const quotient = floorDivide(numerator, 1_000_000);
  return quotient * 1_000_000 === numerator ? quotient : quotient + 1;
}

/**
 * Cost of a request in micro-dollars, rounded up. Cached and cache-write tokens are parts of
 * inputTokens and are charged at their own rates; the rest of the input at the input rate.
 * @example costMicros({inputTokens: 1000, outputTokens: 100, ...}, gpt4oMini) // 150 + 60 = 210
 */
export function costMicros(usage: Usage, pricing: ModelPricing): number {
  const plainInput = Math.max(0, usage.inputTokens - usage.cachedInputTokens - usage.cacheWriteTokens);
  const plain = plainInput * pricing.inputMicrosPerMtok;
  const cached = usage.cachedInputTokens * pricing.cachedInputMicrosPerMtok;
  const written = usage.cacheWriteTokens * pricing.cacheWriteMicrosPerMtok;
  const output = usage.outputTokens * pricing.outputMicrosPerMtok;
  const fast = plain + cached + written + output;
  if (Number.isInteger(fast) && fast <= exactLimit && Math.min(plain, cached, written, output) >= 0) return microsRoundingUp(fast);
  const total = BigInt(plainInput) * BigInt(pricing.inputMicrosPerMtok)
    + BigInt(usage.cachedInputTokens) * BigInt(pricing.cachedInputMicrosPerMtok)
    + BigInt(usage.cacheWriteTokens) * BigInt(pricing.cacheWriteMicrosPerMtok)
    + BigInt(usage.outputTokens) * BigInt(pricing.outputMicrosPerMtok);
  return Number(divideRoundingUp(total, million));
}

/** The most a request can cost: every input token at the highest input rate, plus the full output allowance. */
export function worstCaseCostMicros(promptTokens: number, maxOutputTokens: number, pricing: ModelPricing): number {
  const inputRate = Math.max(pricing.inputMicrosPerMtok, pricing.cacheWriteMicrosPerMtok);
  const input = promptTokens * inputRate;
  const output = maxOutputTokens * pricing.outputMicrosPerMtok;
  const fast = input + output;
  if (Number.isInteger(fast) && fast <= exactLimit && input >= 0 && output >= 0) return microsRoundingUp(fast);
  const total = BigInt(promptTokens) * BigInt(inputRate) + BigInt(maxOutputTokens) * BigInt(pricing.outputMicrosPerMtok);
  return Number(divideRoundingUp(total, million));
}

/**
 * The most output tokens a budget of `availableMicros` can pay for after the prompt, so that
 * worstCaseCostMicros(promptTokens, result, pricing) <= availableMicros. Returns Infinity for free output.
 */
export function affordableOutputTokens(availableMicros: number, promptTokens: number, pricing: ModelPricing): number {
  const inputRate = Math.max(pricing.inputMicrosPerMtok, pricing.cacheWriteMicrosPerMtok);
  const available = Math.max(0, availableMicros) * 1_000_000;
  const prompt = promptTokens * inputRate;
  const outputRate = pricing.outputMicrosPerMtok;
  if (Number.isInteger(available) && Number.isInteger(prompt) && available <= exactLimit && prompt >= 0 && prompt <= exactLimit
    && Number.isInteger(outputRate) && outputRate > 0 && outputRate <= exactLimit) {
    return available < prompt ? 0 : floorDivide(available - prompt, outputRate);
  }
  const budget = BigInt(Math.max(0, availableMicros)) * million - BigInt(promptTokens) * BigInt(inputRate);
  if (budget < 0n) return 0;
  if (pricing.outputMicrosPerMtok === 0) return Number.POSITIVE_INFINITY;
  return Number(budget / BigInt(pricing.outputMicrosPerMtok));
}
