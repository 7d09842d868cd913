// Pure statistics of human review: override rates, time to review (median, p90), and the automation-bias warning.

/** One person's sign-off of one decision. */
export interface ReviewSample {
  reviewer: string;
  system: string;
  overridden: boolean;
  /** From the decision to the sign-off. */
  seconds: number;
}

export interface ReviewSummary {
  reviews: number;
  overrides: number;
  /** overrides / reviews; null with no reviews. */
  overrideRate: number | null;
  /** Share of reviews that kept the model's recommendation. */
  agreementRate: number | null;
  medianSeconds: number | null;
  p90Seconds: number | null;
}

export interface AutomationBiasOptions {
  /** A reviewer needs at least this many reviews to be judged (default 20). */
  minReviews?: number;
  /** Agreement at or above this share is "nearly always" (default 0.95). */
  agreement?: number;
  /** A median time to review under this many seconds is "very little time" (default 30). */
  fastSeconds?: number;
}

export interface AutomationBiasWarning {
  reviewer: string;
  reviews: number;
  agreementRate: number;
  medianSeconds: number;
  message: string;
}

export interface ReviewStatistics {
  overall: ReviewSummary;
  byReviewer: (ReviewSummary & { reviewer: string })[];
  bySystem: (ReviewSummary & { system: string })[];
  warnings: AutomationBiasWarning[];
}

/**
 * The q-quantile of sorted values by linear interpolation between closest ranks (Hyndman and Fan type 7, numpy's default).
 * @example quantile([1, 2, 3, 4], 0.5) // 2.5
 */
export function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below]! + (sorted[above]! - sorted[below]!) * (position - below);
}

export function summarizeReviews(samples: readonly ReviewSample[]): ReviewSummary {
  const seconds = samples.map((sample) => sample.seconds).sort((left, right) => left - right);
  const overrides = samples.filter((sample) => sample.overridden).length;
  const reviews = samples.length;
  return {
    reviews,
    overrides,
    overrideRate: reviews === 0 ? null : overrides / reviews,
    agreementRate: reviews === 0 ? null : (reviews - overrides) / reviews,
    medianSeconds: quantile(seconds, 0.5),
    p90Seconds: quantile(seconds, 0.9),
  };
}

function groupBy(samples: readonly ReviewSample[], keyOf: (sample: ReviewSample) => string): Map<string, ReviewSample[]> {
  const groups = new Map<string, ReviewSample[]>();
  for (const sample of samples) {
    const key = keyOf(sample);
    const group = groups.get(key);
    if (group) group.push(sample);
    else groups.set(key, [sample]);
  }
  return groups;
}

/**
 * Override and timing statistics by reviewer and system, and a warning for each reviewer who agrees with the model
 * nearly always while spending very little time on each review (automation bias).
 */
export function reviewStatistics(samples: readonly ReviewSample[], options: AutomationBiasOptions = {}): ReviewStatistics {
  const minReviews = options.minReviews ?? 20;
  const agreement = options.agreement ?? 0.95;
  const fastSeconds = options.fastSeconds ?? 30;
  const byReviewer = [...groupBy(samples, (sample) => sample.reviewer)]
    .map(([reviewer, group]) => ({ reviewer, ...summarizeReviews(group) }))
    .sort((left, right) => left.reviewer.localeCompare(right.reviewer));
  const bySystem = [...groupBy(samples, (sample) => sample.system)]
    .map(([system, group]) => ({ system, ...summarizeReviews(group) }))
    .sort((left, right) => left.system.localeCompare(right.system));
  const warnings: AutomationBiasWarning[] = [];
  for (const summary of byReviewer) {
    if (summary.reviews < minReviews || summary.agreementRate === null || summary.medianSeconds === null) continue;
    if (summary.agreementRate >= agreement && summary.medianSeconds < fastSeconds) {
      warnings.push({
        reviewer: summary.reviewer, reviews: summary.reviews, agreementRate: summary.agreementRate, medianSeconds: summary.medianSeconds,
        message: `${summary.reviewer} kept the model's recommendation in ${(summary.agreementRate * 100).toFixed(1)}% of ${summary.reviews} reviews `
          + `with a median of ${summary.medianSeconds.toFixed(1)} s each (warning at ≥ ${(agreement * 100).toFixed(0)}% and < ${fastSeconds} s): possible automation bias`,
      });
    }
  }
  return { overall: summarizeReviews(samples), byReviewer, bySystem, warnings };
}
