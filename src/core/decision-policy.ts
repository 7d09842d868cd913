// Pure rules of decision oversight: which outcomes are adverse, which need a person, and whether an explanation is locally accurate.

/** Outcome names compare without case or surrounding space: "Reject" is "reject". */
export function normalizeOutcome(outcome: string | number): string {
  return String(outcome).trim().toLowerCase();
}

/** True when the outcome is favorable to the person decided about (not one of the adverse outcomes). */
export function isFavorable(outcome: string, adverse: readonly string[]): boolean {
  return !adverse.includes(normalizeOutcome(outcome));
}

export interface ReviewPolicy {
  /** Outcomes adverse to the person (lower case). */
  adverse: readonly string[];
  /** Outcomes a person must sign off (lower case; includes every adverse one). */
  reviewFor: readonly string[];
}

/**
 * Why a person must review this recommendation before it is final, or null when it may be final at once.
 * A suspended system sends every decision to a person.
 * @example reviewReason({ adverse: ['reject'], reviewFor: ['reject'] }, 'Reject', null) // 'the recommendation "reject" is adverse…'
 */
export function reviewReason(policy: ReviewPolicy, recommendation: string, suspension: string | null): string | null {
  if (suspension !== null) return `automated scoring of this system is suspended (${suspension}); every decision goes to a person until the suspension is lifted`;
  const outcome = normalizeOutcome(recommendation);
  if (policy.adverse.includes(outcome)) return `the recommendation "${outcome}" is adverse to the person: a person must sign it off`;
  if (policy.reviewFor.includes(outcome)) return `the recommendation "${outcome}" needs a person's sign-off (review.required_for)`;
  return null;
}

export interface LocalAccuracy {
  /** Sum of the attributions. */
  sum: number;
  /** score − base_value: what the attributions must add up to. */
  expected: number;
  /** |sum − expected|. */
  gap: number;
  accurate: boolean;
}

/**
 * Local accuracy of an additive explanation (SHAP's first property, Lundberg and Lee 2017): the attributions add up
 * to the model's output minus the base value, within `tolerance`.
 * @example localAccuracy({ base_value: 0.2, attributions: { income: 0.3, age: 0.1 } }, 0.6, 0.01).accurate // true
 */
export function localAccuracy(explanation: { base_value: number; attributions: Readonly<Record<string, number>> }, score: number, tolerance: number): LocalAccuracy {
  let sum = 0;
  for (const value of Object.values(explanation.attributions)) sum += value;
  const expected = score - explanation.base_value;
  const gap = Math.abs(sum - expected);
  // A relative slack of a few ulps keeps a sum that is exactly on the tolerance from failing by rounding.
  return { sum, expected, gap, accurate: gap <= tolerance + 1e-12 * Math.max(1, Math.abs(expected)) };
}
