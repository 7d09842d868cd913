// Built-in prices from @pydantic/genai-prices (bundled data, never fetched), converted to exact integer micro-dollars.
import { calcPrice } from '@pydantic/genai-prices';
import type { ModelPricing } from './pricing.js';
import { pricePerMtokToMicros } from './money.js';

const providerIds: Record<string, string> = {
  openai: 'openai',
  anthropic: 'anthropic',
  gemini: 'google',
};

/** A price entry may be a plain number or tiered; for a budget the highest tier is the safe one. */
function highest(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (value && typeof value === 'object') {
    const tiered = value as { base?: number; tiers?: { price: number }[] };
    const prices = [tiered.base ?? 0, ...(tiered.tiers ?? []).map((tier) => tier.price)];
    return Math.max(...prices);
  }
  return undefined;
}

/** Look up a model's prices in the bundled table; undefined if the table does not know it. */
export function builtInPricing(providerType: string, model: string): ModelPricing | undefined {
  const providerId = providerIds[providerType];
  let result: ReturnType<typeof calcPrice>;
  try {
    result = calcPrice({ input_tokens: 1, output_tokens: 1 }, model, providerId ? { providerId } : undefined);
  } catch {
    return undefined;
  }
  if (!result) return undefined;
  const prices = result.model_price as Record<string, unknown>;
  const input = highest(prices.input_mtok);
  if (input === undefined) return undefined;
  // Embedding models have no output price; elsewhere a missing one is priced like input rather than free.
  const output = highest(prices.output_mtok) ?? input;
  return {
    inputMicrosPerMtok: pricePerMtokToMicros(input),
    outputMicrosPerMtok: pricePerMtokToMicros(output),
    cachedInputMicrosPerMtok: pricePerMtokToMicros(highest(prices.cache_read_mtok) ?? input),
    cacheWriteMicrosPerMtok: pricePerMtokToMicros(highest(prices.cache_write_mtok) ?? input),
  };
}
