// Reservation math: max_tokens lowered to the tightest budget, refusals only below the minimum, amounts within headroom, exact prices.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  affordableOutput, counterKeyFor, decideBudget, parseCounterKey, type BudgetState,
} from '../src/core/budget-math.js';
import { affordableOutputTokens, costMicros, worstCaseCostMicros, type ModelPricing } from '../src/core/pricing.js';

// gpt-4o-mini list prices: $0.15 and $0.60 per million input and output tokens.
const pricing: ModelPricing = { inputMicrosPerMtok: 150_000, outputMicrosPerMtok: 600_000, cachedInputMicrosPerMtok: 75_000, cacheWriteMicrosPerMtok: 150_000 };

function budget(overrides: Partial<BudgetState> & Pick<BudgetState, 'scope'>): BudgetState {
  return { unit: 'usd', period: 'day', counterKey: `${overrides.scope}|usd:day|2024-01-01`, limit: 1_000_000, spent: 0, reserved: 0, ...overrides };
}

describe('decideBudget', () => {
  it('sends the model maximum when nothing was asked and the budgets afford it', () => {
    const decision = decideBudget({ budgets: [budget({ scope: 'org' })], pricing, promptTokens: 1000, modelMaxOutput: 16_384, minOutputTokens: 16 });
    expect(decision).toMatchObject({ allow: true, maxTokens: 16_384, lowered: false });
    if (decision.allow) expect(decision.amounts).toEqual([{ counterKey: 'org|usd:day|2024-01-01', amount: worstCaseCostMicros(1000, 16_384, pricing), limit: 1_000_000 }]);
  });

  it('lowers max_tokens to what the tightest budget affords instead of refusing', () => {
    // $0.001 left: the prompt costs 150 micros (1000 tokens), leaving 850 micros = 1416 output tokens.
    const tight = budget({ scope: 'key:bot', limit: 5_000_000, spent: 4_999_000 });
    const decision = decideBudget({ budgets: [budget({ scope: 'org' }), tight], pricing, promptTokens: 1000, requestedMaxTokens: 4000, modelMaxOutput: 16_384, minOutputTokens: 16 });
    expect(decision).toMatchObject({ allow: true, maxTokens: 1416, lowered: true });
    if (decision.allow) {
      expect(decision.tightest?.scope).toBe('key:bot');
      expect(decision.amounts[1].amount).toBeLessThanOrEqual(1000);
      expect(worstCaseCostMicros(1000, 1417, pricing)).toBeGreaterThan(1000); // one more token would not fit
    }
  });

  it('refuses only below the minimum useful output, naming the tightest budget', () => {
    const department = budget({ scope: 'department:claims', limit: 500_000_000, spent: 499_999_000 });
    const user = budget({ scope: 'user:claims/alice', limit: 20_000_000, spent: 19_999_900 });
    // alice has 100 micros: the 1000-token prompt costs 150.
    const decision = decideBudget({ budgets: [budget({ scope: 'org' }), department, user], pricing, promptTokens: 1000, modelMaxOutput: 16_384, minOutputTokens: 16 });
    expect(decision).toMatchObject({ allow: false, affordableOutputTokens: 0 });
    if (!decision.allow) expect(decision.budget.scope).toBe('user:claims/alice');
  });

  it('grants a client that asked for fewer tokens than the minimum what it asked for', () => {
    const nearlyGone = budget({ scope: 'org', limit: 1000, spent: 1000 - 150 - 4 }); // prompt + 6 output tokens
    const decision = decideBudget({ budgets: [nearlyGone], pricing, promptTokens: 1000, requestedMaxTokens: 5, modelMaxOutput: 16_384, minOutputTokens: 16 });
    expect(decision).toMatchObject({ allow: true, maxTokens: 5, lowered: false });
  });

  it('counts input and output tokens in token budgets, and reserves for every choice of n', () => {
    const tokens = budget({ scope: 'department:claims', unit: 'tokens', counterKey: 'department:claims|tokens:month|2024-01', limit: 10_000, spent: 4_000 });
    const decision = decideBudget({ budgets: [tokens], pricing, promptTokens: 1000, modelMaxOutput: 16_384, minOutputTokens: 16, choices: 2 });
    expect(decision).toMatchObject({ allow: true, maxTokens: 2500 });
    if (decision.allow) expect(decision.amounts[0].amount).toBe(1000 + 2 * 2500);
  });

  it('treats a budget already over its limit (lowered on reload) as exhausted', () => {
    const over = budget({ scope: 'org', limit: 1_000, spent: 5_000 });
    expect(affordableOutput(over, 10, pricing)).toBe(0);
    expect(decideBudget({ budgets: [over], pricing, promptTokens: 10, modelMaxOutput: 100, minOutputTokens: 16 }).allow).toBe(false);
  });
});

const budgetArbitrary = fc.record({
  scope: fc.constantFrom('org', 'department:claims', 'key:bot', 'user:claims/alice'),
  unit: fc.constantFrom('usd' as const, 'tokens' as const),
  // Large limits too: the decision then skips exact counts for budgets that afford the ceiling.
  limit: fc.oneof(fc.integer({ min: 1, max: 5_000_000 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })),
  spentFraction: fc.double({ min: 0, max: 1.2, noNaN: true }),
  reservedFraction: fc.double({ min: 0, max: 0.5, noNaN: true }),
}).map(({ scope, unit, limit, spentFraction, reservedFraction }, ) => budget({
  scope, unit, limit, spent: Math.floor(limit * spentFraction), reserved: Math.floor(limit * reservedFraction),
}));
const pricingArbitrary = fc.record({
  inputMicrosPerMtok: fc.integer({ min: 0, max: 20_000_000 }),
  outputMicrosPerMtok: fc.integer({ min: 0, max: 80_000_000 }),
  cachedInputMicrosPerMtok: fc.integer({ min: 0, max: 20_000_000 }),
  cacheWriteMicrosPerMtok: fc.integer({ min: 0, max: 25_000_000 }),
});
const inputArbitrary = fc.record({
  budgets: fc.array(budgetArbitrary, { maxLength: 4 }),
  pricing: pricingArbitrary,
  promptTokens: fc.integer({ min: 0, max: 200_000 }),
  requestedMaxTokens: fc.option(fc.integer({ min: 1, max: 200_000 }), { nil: undefined }),
  modelMaxOutput: fc.integer({ min: 1, max: 128_000 }),
  minOutputTokens: fc.integer({ min: 1, max: 256 }),
  choices: fc.integer({ min: 1, max: 4 }),
});

function worstCase(unit: 'usd' | 'tokens', promptTokens: number, outputTokens: number, prices: ModelPricing): number {
  return unit === 'tokens' ? promptTokens + outputTokens : worstCaseCostMicros(promptTokens, outputTokens, prices);
}

describe('decideBudget: properties', () => {
  it('every amount it reserves fits its budget, and max_tokens stays within what was asked', () => {
    fc.assert(fc.property(inputArbitrary, (input) => {
      const decision = decideBudget(input);
      if (!decision.allow) return;
      const ceiling = Math.min(input.requestedMaxTokens ?? input.modelMaxOutput, input.modelMaxOutput);
      expect(decision.maxTokens).toBeLessThanOrEqual(ceiling);
      expect(decision.maxTokens).toBeGreaterThanOrEqual(Math.min(input.minOutputTokens, ceiling));
      input.budgets.forEach((state, index) => {
        expect(decision.amounts[index].amount).toBe(worstCase(state.unit, input.promptTokens, decision.maxTokens * input.choices, input.pricing));
        expect(state.spent + state.reserved + decision.amounts[index].amount).toBeLessThanOrEqual(state.limit);
      });
    }), { numRuns: 3000 });
  });

  it('nobody is refused while the tightest budget can afford min_output_tokens', () => {
    fc.assert(fc.property(inputArbitrary, (input) => {
      const decision = decideBudget(input);
      const ceiling = Math.min(input.requestedMaxTokens ?? input.modelMaxOutput, input.modelMaxOutput);
      const minimum = Math.min(input.minOutputTokens, ceiling);
      const everyBudgetAffordsMinimum = input.budgets.every((state) =>
        state.spent + state.reserved + worstCase(state.unit, input.promptTokens, minimum * input.choices, input.pricing) <= state.limit);
      expect(decision.allow).toBe(everyBudgetAffordsMinimum);
      if (!decision.allow) {
        // The refusal names a budget that really cannot afford the minimum.
        const named = decision.budget;
        expect(named.spent + named.reserved + worstCase(named.unit, input.promptTokens, minimum * input.choices, input.pricing)).toBeGreaterThan(named.limit);
      }
    }), { numRuns: 3000 });
  });

  it('never lowers max_tokens further than the tightest budget requires', () => {
    fc.assert(fc.property(inputArbitrary, (input) => {
      const decision = decideBudget(input);
      if (!decision.allow) return;
      const ceiling = Math.min(input.requestedMaxTokens ?? input.modelMaxOutput, input.modelMaxOutput);
      if (decision.maxTokens === ceiling) return;
      // One more output token per choice would break some budget.
      const oneMore = (decision.maxTokens + 1) * input.choices;
      expect(input.budgets.some((state) => state.spent + state.reserved + worstCase(state.unit, input.promptTokens, oneMore, input.pricing) > state.limit)).toBe(true);
    }), { numRuns: 3000 });
  });
});

describe('pricing: exact in doubles where it can be, in BigInt past that', () => {
  // The reference: the same formulas on BigInt, rounded up to the micro-dollar.
  const up = (total: bigint) => Number((total + 999_999n) / 1_000_000n);
  const rate = (prices: ModelPricing) => BigInt(Math.max(prices.inputMicrosPerMtok, prices.cacheWriteMicrosPerMtok));
  // Amounts on both sides of 2^52, where the fast path hands over.
  const amount = fc.oneof(fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 2 ** 44, max: Number.MAX_SAFE_INTEGER }));
  const prices = fc.record({
    inputMicrosPerMtok: fc.oneof(fc.integer({ min: 0, max: 80_000_000 }), fc.integer({ min: 0, max: 2 ** 31 })),
    outputMicrosPerMtok: fc.oneof(fc.integer({ min: 0, max: 80_000_000 }), fc.integer({ min: 0, max: 2 ** 31 })),
    cachedInputMicrosPerMtok: fc.integer({ min: 0, max: 80_000_000 }),
    cacheWriteMicrosPerMtok: fc.integer({ min: 0, max: 80_000_000 }),
  });

  it('worstCaseCostMicros and affordableOutputTokens agree with BigInt arithmetic', () => {
    fc.assert(fc.property(amount, amount, amount, prices, (promptTokens, outputTokens, available, pricing) => {
      const worst = up(BigInt(promptTokens) * rate(pricing) + BigInt(outputTokens) * BigInt(pricing.outputMicrosPerMtok));
      expect(worstCaseCostMicros(promptTokens, outputTokens, pricing)).toBe(worst);
      const spendable = BigInt(available) * 1_000_000n - BigInt(promptTokens) * rate(pricing);
      const affordable = spendable < 0n ? 0 : pricing.outputMicrosPerMtok === 0 ? Number.POSITIVE_INFINITY : Number(spendable / BigInt(pricing.outputMicrosPerMtok));
      expect(affordableOutputTokens(available, promptTokens, pricing)).toBe(affordable);
    }), { numRuns: 5000 });
  });

  it('costMicros agrees with BigInt arithmetic', () => {
    fc.assert(fc.property(amount, amount, amount, amount, prices, (inputTokens, cachedInputTokens, cacheWriteTokens, outputTokens, pricing) => {
      const plain = BigInt(Math.max(0, inputTokens - cachedInputTokens - cacheWriteTokens));
      const total = plain * BigInt(pricing.inputMicrosPerMtok) + BigInt(cachedInputTokens) * BigInt(pricing.cachedInputMicrosPerMtok)
        + BigInt(cacheWriteTokens) * BigInt(pricing.cacheWriteMicrosPerMtok) + BigInt(outputTokens) * BigInt(pricing.outputMicrosPerMtok);
      expect(costMicros({ inputTokens, cachedInputTokens, cacheWriteTokens, outputTokens, reasoningTokens: 0 }, pricing)).toBe(up(total));
    }), { numRuns: 5000 });
  });

  it('rounds up exactly at the boundaries of the fast path', () => {
    const perToken: ModelPricing = { inputMicrosPerMtok: 1, outputMicrosPerMtok: 1, cachedInputMicrosPerMtok: 1, cacheWriteMicrosPerMtok: 1 };
    for (const total of [2 ** 52 - 1, 2 ** 52, 2 ** 52 + 1, 2 ** 53 - 2, 1_000_000 * 4_503_599_627, 1_000_000 * 4_503_599_627 + 1]) {
      expect(worstCaseCostMicros(total, 0, perToken)).toBe(up(BigInt(total)));
      expect(worstCaseCostMicros(0, total, perToken)).toBe(up(BigInt(total)));
    }
  });
});

describe('counter keys', () => {
  it('round-trip scopes holding any character, "|" included', () => {
    fc.assert(fc.property(fc.string(), fc.constantFrom('usd' as const, 'tokens' as const), fc.constantFrom('hour' as const, 'day' as const, 'total' as const), fc.stringMatching(/^[0-9A-Z:+-]{1,20}$/), (user, unit, period, windowKey) => {
      const scope = `user:claims/${user}`;
      expect(parseCounterKey(counterKeyFor(scope, unit, period, windowKey))).toEqual({ scope, unit, period, windowKey });
    }));
  });
});
