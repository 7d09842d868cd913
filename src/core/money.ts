// Exact money: integer micro-dollars (1 USD = 1,000,000 micros); prices are integer micro-dollars per million tokens.

export const microsPerDollar = 1_000_000;

/** Dollars (as written in config) to integer micro-dollars, rounding to the nearest micro. */
export function dollarsToMicros(dollars: number): number {
  return Math.round(dollars * microsPerDollar);
}

/** Price in dollars per million tokens to integer micro-dollars per million tokens. */
export function pricePerMtokToMicros(dollarsPerMtok: number): number {
  return Math.round(dollarsPerMtok * microsPerDollar);
}

/** Micro-dollars as a decimal dollar string with all six places: 1234 -> "0.001234". */
export function formatMicros(micros: number): string {
  const sign = micros < 0 ? '-' : '';
  const absolute = Math.abs(micros);
  const whole = Math.floor(absolute / microsPerDollar);
  const fraction = String(absolute % microsPerDollar).padStart(6, '0');
  return `${sign}${whole}.${fraction}`;
}

/** ceil(numerator / denominator) for non-negative bigints. */
export function divideRoundingUp(numerator: bigint, denominator: bigint): bigint {
  return (numerator + denominator - 1n) / denominator;
}
