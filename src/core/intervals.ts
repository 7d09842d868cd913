// Confidence intervals for proportions (selection rates, error rates, precision): the Wilson score interval.

/** A proportion with its confidence interval; `value` is successes / trials. */
export interface RateEstimate {
  value: number;
  lower: number;
  upper: number;
  successes: number;
  trials: number;
}

/** Bounds of a confidence interval. */
export interface Interval {
  lower: number;
  upper: number;
}

// Coefficients of P. J. Acklam's rational approximation of the inverse normal CDF (relative error below 1.2e-9).
const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
const lowTail = 0.02425;

/**
 * The standard normal quantile Φ⁻¹(p) for 0 < p < 1.
 * @example normalQuantile(0.975) // 1.959963985
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile needs 0 < p < 1, got ${p}`);
  if (p < lowTail) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
      ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - lowTail) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/** The two-sided critical value z for a confidence level, e.g. 1.96 for 0.95. */
export function criticalValue(confidence: number): number {
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be between 0 and 1, got ${confidence}`);
  return normalQuantile(1 - (1 - confidence) / 2);
}

/**
 * The Wilson score interval (Wilson 1927) for `successes` out of `trials` at a two-sided `confidence`.
 * Unlike the normal approximation it stays inside [0, 1] and behaves at 0 and n successes.
 * @example wilsonInterval(81, 263) // { lower: 0.2553, upper: 0.3662 } (rounded)
 */
export function wilsonInterval(successes: number, trials: number, confidence = 0.95): Interval {
  if (!Number.isInteger(successes) || !Number.isInteger(trials) || trials <= 0 || successes < 0 || successes > trials) {
    throw new RangeError(`wilsonInterval needs 0 <= successes <= trials and trials > 0, got ${successes} of ${trials}`);
  }
  const z = criticalValue(confidence);
  const p = successes / trials;
  const z2 = z * z;
  const denominator = 1 + z2 / trials;
  const centre = (p + z2 / (2 * trials)) / denominator;
  const half = (z / denominator) * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials));
  // The exact bounds at 0 and n successes are 0 and 1; rounding must not move them.
  return {
    lower: successes === 0 ? 0 : Math.max(0, centre - half),
    upper: successes === trials ? 1 : Math.min(1, centre + half),
  };
}

/** `successes / trials` with its Wilson interval; null when there are no trials (the rate is undefined). */
export function rateEstimate(successes: number, trials: number, confidence = 0.95): RateEstimate | null {
  if (trials === 0) return null;
  const { lower, upper } = wilsonInterval(successes, trials, confidence);
  return { value: successes / trials, lower, upper, successes, trials };
}
