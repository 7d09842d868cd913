// Drift statistics: KL and Jensen–Shannon divergence, PSI, shared-bin histograms, cosine similarity, quantiles, permutation tests.

/**
 * Added to every bin of both distributions (then renormalised) when a bin is empty where the formula would divide
 * by zero or take the log of zero (KL: q = 0 where p > 0; PSI: either is 0). Small enough not to move well-populated
 * distributions, large enough to keep the result finite. Distributions without such a bin are used as they are.
 */
export const defaultSmoothing = 1e-6;

function check(p: readonly number[], q: readonly number[]): void {
  if (p.length !== q.length) throw new RangeError(`distributions differ in length (${p.length} and ${q.length})`);
  if (p.length === 0) throw new RangeError('distributions are empty');
}

/** Scale non-negative weights (counts or probabilities) to sum to 1; all-zero weights become uniform. */
export function normalise(weights: readonly number[]): number[] {
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  if (total <= 0) return weights.map(() => 1 / weights.length);
  return weights.map((weight) => weight / total);
}

/** Both distributions with `epsilon` added to every bin and renormalised (documented at defaultSmoothing). */
export function smooth(p: readonly number[], q: readonly number[], epsilon = defaultSmoothing): [number[], number[]] {
  return [normalise(p.map((value) => value + epsilon)), normalise(q.map((value) => value + epsilon))];
}

/**
 * Kullback–Leibler divergence KL(p‖q) = Σ p_i ln(p_i / q_i), in nats. Inputs are normalised first; 0·ln 0 = 0; a bin
 * with q_i = 0 < p_i switches on smoothing of both (see defaultSmoothing).
 * @example klDivergence([0.5, 0.5], [0.9, 0.1]) // 0.5108256
 */
export function klDivergence(p: readonly number[], q: readonly number[], epsilon = defaultSmoothing): number {
  check(p, q);
  let left = normalise(p);
  let right = normalise(q);
  if (left.some((value, index) => value > 0 && right[index] === 0)) [left, right] = smooth(left, right, epsilon);
  let total = 0;
  for (let index = 0; index < left.length; index++) {
    const value = left[index]!;
    if (value > 0) total += value * Math.log(value / right[index]!);
  }
  return Math.max(0, total);
}

/** Jensen–Shannon divergence: ½KL(p‖m) + ½KL(q‖m), m = (p + q)/2, in nats; symmetric, between 0 and ln 2, never needs smoothing. */
export function jsDivergence(p: readonly number[], q: readonly number[]): number {
  check(p, q);
  const left = normalise(p);
  const right = normalise(q);
  const middle = left.map((value, index) => (value + right[index]!) / 2);
  return Math.min(Math.LN2, Math.max(0, (klDivergence(left, middle) + klDivergence(right, middle)) / 2));
}

/**
 * Jensen–Shannon distance: the square root of the divergence (natural log), a metric between 0 and √ln 2.
 * @example jsDistance([0.5, 0.5], [0.9, 0.1]) // 0.3189815
 */
export function jsDistance(p: readonly number[], q: readonly number[]): number {
  return Math.sqrt(jsDivergence(p, q));
}

/**
 * Population stability index Σ (q_i − p_i) ln(q_i / p_i) of `actual` against `expected`; an empty bin on either
 * side switches on smoothing. Rules of thumb: < 0.1 stable, 0.1–0.25 moderate shift, > 0.25 major shift.
 * @example populationStabilityIndex([0.5, 0.5], [0.9, 0.1]) // 0.8788898
 */
export function populationStabilityIndex(expected: readonly number[], actual: readonly number[], epsilon = defaultSmoothing): number {
  check(expected, actual);
  let left = normalise(expected);
  let right = normalise(actual);
  if (left.some((value, index) => value === 0 || right[index] === 0)) [left, right] = smooth(left, right, epsilon);
  let total = 0;
  for (let index = 0; index < left.length; index++) total += (right[index]! - left[index]!) * Math.log(right[index]! / left[index]!);
  return total;
}

export interface SharedHistograms {
  /** bins + 1 ascending edges; the last bin includes its upper edge. */
  edges: number[];
  baseline: number[];
  candidate: number[];
}

/**
 * Count two samples on the same equal-width bins spanning both (so their distributions can be compared bin by bin).
 * When every value is the same there is one bin.
 */
export function sharedHistograms(baseline: readonly number[], candidate: readonly number[], bins = 10): SharedHistograms {
  const all = [...baseline, ...candidate];
  if (all.length === 0) return { edges: [0, 0], baseline: [0], candidate: [0] };
  const low = Math.min(...all);
  const high = Math.max(...all);
  const count = high === low ? 1 : Math.max(1, Math.floor(bins));
  const width = (high - low) / count;
  const edges = Array.from({ length: count + 1 }, (_, index) => (index === count ? high : low + index * width));
  const place = (values: readonly number[]) => {
    const counts = new Array<number>(count).fill(0);
    for (const value of values) {
      const index = width === 0 ? 0 : Math.min(count - 1, Math.floor((value - low) / width));
      counts[index]! += 1;
    }
    return counts;
  };
  return { edges, baseline: place(baseline), candidate: place(candidate) };
}

/** The largest absolute component (0 for the zero vector). */
function largestMagnitude(vector: readonly number[]): number {
  let largest = 0;
  for (const value of vector) largest = Math.max(largest, Math.abs(value));
  return largest;
}

/**
 * Cosine of the angle between two vectors, in [-1, 1]; 0 when either is all zeros. Each vector is first divided by its
 * largest component (the cosine does not change), so tiny or huge components neither underflow nor overflow when squared.
 */
export function cosineSimilarity(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new RangeError(`vectors differ in length (${a.length} and ${b.length})`);
  const scaleA = largestMagnitude(a);
  const scaleB = largestMagnitude(b);
  if (scaleA === 0 || scaleB === 0) return 0;
  let dot = 0;
  let left = 0;
  let right = 0;
  for (let index = 0; index < a.length; index++) {
    const x = a[index]! / scaleA;
    const y = b[index]! / scaleB;
    dot += x * y;
    left += x * x;
    right += y * y;
  }
  return Math.max(-1, Math.min(1, dot / Math.sqrt(left * right)));
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

/**
 * The q-quantile (0 ≤ q ≤ 1) by linear interpolation between order statistics (Hyndman–Fan type 7, numpy's and R's
 * default). NaN for an empty sample.
 * @example quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.95) // 9.55
 */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * Math.min(1, Math.max(0, q));
  const below = Math.floor(position);
  const above = Math.ceil(position);
  return sorted[below]! + (sorted[above]! - sorted[below]!) * (position - below);
}

export const median = (values: readonly number[]): number => quantile(values, 0.5);
export const p95 = (values: readonly number[]): number => quantile(values, 0.95);

/** Sample standard deviation (n − 1 in the denominator); 0 for fewer than two values. */
export function standardDeviation(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const average = mean(values);
  return Math.sqrt(values.reduce((sum, value) => sum + (value - average) ** 2, 0) / (values.length - 1));
}

/** Coefficient of variation: sample standard deviation over the mean (NaN when the mean is 0). */
export function coefficientOfVariation(values: readonly number[]): number {
  const average = mean(values);
  return average === 0 ? Number.NaN : standardDeviation(values) / Math.abs(average);
}

/** |candidate − baseline| / |baseline|: the relative change a contract's "variance" threshold bounds (0 when both are 0). */
export function relativeChange(baseline: number, candidate: number): number {
  if (baseline === candidate) return 0;
  if (baseline === 0) return Number.POSITIVE_INFINITY;
  return Math.abs(candidate - baseline) / Math.abs(baseline);
}

/** A small seeded generator (mulberry32), so permutation tests give the same answer on every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Permutation test of "both samples come from one distribution" for a statistic of the two samples: the share of
 * random relabellings (plus the observed one) whose statistic is at least the observed one. Seeded, so repeatable.
 */
export function permutationPValue(a: readonly number[], b: readonly number[], statistic: (a: readonly number[], b: readonly number[]) => number,
  rounds = 999, seed = 1): number {
  if (a.length === 0 || b.length === 0) return 1;
  const observed = statistic(a, b);
  const pooled = [...a, ...b];
  const random = seededRandom(seed);
  let extreme = 0;
  for (let round = 0; round < rounds; round++) {
    for (let index = pooled.length - 1; index > 0; index--) {
      const swap = Math.floor(random() * (index + 1));
      [pooled[index], pooled[swap]] = [pooled[swap]!, pooled[index]!];
    }
    if (statistic(pooled.slice(0, a.length), pooled.slice(a.length)) >= observed - 1e-12) extreme += 1;
  }
  return (extreme + 1) / (rounds + 1);
}

/** Jensen–Shannon divergence of two samples on shared bins (the statistic the length-distribution test uses). */
export function sampleJsDivergence(a: readonly number[], b: readonly number[], bins = 10): number {
  const histograms = sharedHistograms(a, b, bins);
  return jsDivergence(histograms.baseline, histograms.candidate);
}
