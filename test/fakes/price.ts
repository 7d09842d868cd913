// The fake providers' own price arithmetic: exact fractions in BigInt, written apart from the gateway's pricing code so a bill can disagree with it.
//
// A price of X dollars per million tokens is X micro-dollars per token, so a request costs
// sum(tokens × price) micro-dollars exactly; the provider rounds that up to a whole micro-dollar once per request.

/** A price as written in config: dollars per million tokens, e.g. "0.15", 0.6, "3.75", "1e-7". */
export type DollarsPerMillionTokens = string | number;

/** A non-negative fraction numerator / denominator, denominator > 0. */
export interface Fraction {
  numerator: bigint;
  denominator: bigint;
}

const decimalPattern = /^(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/**
 * The exact value of a decimal price: "0.15" is 15/100, never the double nearest to 0.15.
 * A number is read through its shortest decimal spelling (String(0.15) === "0.15"), which is what the config said.
 * @example parsePrice('2.5e-1') // { numerator: 25n, denominator: 100n }
 */
export function parsePrice(price: DollarsPerMillionTokens): Fraction {
  const text = String(price).trim();
  const match = decimalPattern.exec(text);
  if (!match || (match[1] === '' && (match[2] ?? '') === '')) throw new Error(`fake price "${text}" is not a non-negative decimal number`);
  const whole = match[1];
  const fraction = match[2] ?? '';
  const exponent = Number(match[3] ?? '0') - fraction.length;
  const digits = BigInt(`${whole}${fraction}` || '0');
  if (exponent >= 0) return { numerator: digits * 10n ** BigInt(exponent), denominator: 1n };
  return { numerator: digits, denominator: 10n ** BigInt(-exponent) };
}

function greatestCommonDivisor(first: bigint, second: bigint): bigint {
  let a = first;
  let b = second;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/** The exact cost of one request, built up from its token counts; `micros` rounds the total up once. */
export class RequestCost {
  private exact: Fraction = { numerator: 0n, denominator: 1n };

  /** Add `tokens` tokens at `price` dollars per million tokens (= micro-dollars per token). */
  add(tokens: number, price: DollarsPerMillionTokens): this {
    if (!Number.isSafeInteger(tokens) || tokens < 0) throw new Error(`fake bill: ${tokens} is not a token count`);
    const rate = parsePrice(price);
    const numerator = this.exact.numerator * rate.denominator + BigInt(tokens) * rate.numerator * this.exact.denominator;
    const denominator = this.exact.denominator * rate.denominator;
    const common = greatestCommonDivisor(numerator, denominator);
    this.exact = { numerator: numerator / common, denominator: denominator / common };
    return this;
  }

  /** The exact cost in micro-dollars, as a fraction in lowest terms. */
  get exactMicros(): Fraction {
    return { ...this.exact };
  }

  /** Whole micro-dollars charged: the exact cost, rounded up. */
  get micros(): number {
    const { numerator, denominator } = this.exact;
    const quotient = numerator / denominator;
    const charged = quotient * denominator === numerator ? quotient : quotient + 1n;
    return Number(charged);
  }
}
