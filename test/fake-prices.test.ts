// The fakes' own price arithmetic: hand-worked bills, and agreement with the gateway's pricing, which it was written apart from.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pricePerMtokToMicros } from '../src/core/money.js';
import { costMicros } from '../src/core/pricing.js';
import { parsePrice, RequestCost } from './fakes/price.js';

describe('parsePrice', () => {
  it('reads decimal prices exactly, never through a double', () => {
    expect(parsePrice('0.15')).toEqual({ numerator: 15n, denominator: 100n });
    expect(parsePrice(0.6)).toEqual({ numerator: 6n, denominator: 10n });
    expect(parsePrice('3')).toEqual({ numerator: 3n, denominator: 1n });
    expect(parsePrice('.5')).toEqual({ numerator: 5n, denominator: 10n });
    expect(parsePrice(1e-7)).toEqual({ numerator: 1n, denominator: 10_000_000n });
    expect(parsePrice('2.5e3')).toEqual({ numerator: 2500n, denominator: 1n });
  });

  it('refuses what is not a non-negative decimal', () => {
    for (const bad of ['', '-1', 'abc', '1.2.3', '.', 'NaN', 'Infinity']) expect(() => parsePrice(bad), bad).toThrow(/not a non-negative decimal/);
  });
});

describe('RequestCost', () => {
  it('charges hand-worked amounts, rounded up once per request', () => {
    // 8 tokens at $0.15/M + 16 at $0.60/M = 1.2 + 9.6 = 10.8 micro-dollars -> 11.
    expect(new RequestCost().add(8, '0.15').add(16, '0.60').micros).toBe(11);
    // Exactly whole: 1000 x 0.15 + 100 x 0.6 = 150 + 60 = 210.
    expect(new RequestCost().add(1000, 0.15).add(100, 0.6).micros).toBe(210);
    // 0.1 + 0.2 is 0.30000000000000004 in doubles; exactly 0.3 here, so 10 tokens of each cost 3, not 4.
    expect(new RequestCost().add(10, 0.1).add(10, 0.2).micros).toBe(3);
    expect(new RequestCost().add(10, 0.1).add(10, 0.2).exactMicros).toEqual({ numerator: 3n, denominator: 1n });
    // A price finer than a micro-dollar per million tokens still costs something: rounded up to 1.
    expect(new RequestCost().add(1, '0.0000001').micros).toBe(1);
    expect(new RequestCost().micros).toBe(0);
  });

  it('agrees with the gateway pricing on every request, at prices with up to six decimals', () => {
    const price = fc.integer({ min: 0, max: 100_000_000 }); // micro-dollars per million tokens, written as a decimal
    // Whole millions of tokens make exact amounts, where rounding up must add nothing.
    const tokens = fc.oneof(fc.integer({ min: 0, max: 5_000_000 }), fc.integer({ min: 0, max: 5 }).map((millions) => millions * 1_000_000));
    const decimal = (micros: number) => `${Math.floor(micros / 1_000_000)}.${String(micros % 1_000_000).padStart(6, '0')}`;
    fc.assert(fc.property(price, price, price, tokens, tokens, tokens, (input, cached, output, inputTokens, cachedTokens, outputTokens) => {
      const fake = new RequestCost().add(inputTokens, decimal(input)).add(cachedTokens, decimal(cached)).add(outputTokens, decimal(output)).micros;
      const gateway = costMicros(
        { inputTokens: inputTokens + cachedTokens, cachedInputTokens: cachedTokens, cacheWriteTokens: 0, outputTokens, reasoningTokens: 0 },
        {
          inputMicrosPerMtok: pricePerMtokToMicros(Number(decimal(input))),
          cachedInputMicrosPerMtok: pricePerMtokToMicros(Number(decimal(cached))),
          cacheWriteMicrosPerMtok: pricePerMtokToMicros(Number(decimal(input))),
          outputMicrosPerMtok: pricePerMtokToMicros(Number(decimal(output))),
        },
      );
      expect(gateway).toBe(fake);
    }), { numRuns: 2000 });
  });
});
