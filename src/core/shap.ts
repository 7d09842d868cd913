// Kernel SHAP (Lundberg and Lee 2017) over a black-box batch evaluator: Shapley kernel weights, exact or sampled coalitions.

/** Scores many rows of features at once, one number per row, in order. */
export type BatchEvaluator = (rows: number[][]) => Promise<number[]>;

export interface KernelShapOptions {
  /** Enumerate every coalition up to this many varying features (default 12); sample beyond it. */
  maxExactFeatures?: number;
  /** Coalitions to evaluate when sampling (default 2M + 2048, as the shap package does). */
  samples?: number;
  /** Seed of the sampler, so an explanation can be reproduced (default 0). */
  seed?: number;
  /** Rows per call of the evaluator (default 10,000). */
  batchRows?: number;
}

export interface ShapExplanation {
  /** E[f(background)]. */
  baseValue: number;
  /** f(instance). */
  value: number;
  /** One attribution per feature; they sum to value − baseValue. */
  attributions: number[];
  /** Every coalition was evaluated (the attributions are the exact Shapley values of the interventional game). */
  exact: boolean;
  /** Coalitions evaluated, and rows sent to the evaluator. */
  coalitions: number;
  evaluations: number;
}

/**
 * The Shapley kernel weight of a coalition of `size` features out of `features`:
 * (M − 1) / (C(M, |z|) · |z| · (M − |z|)). Infinite for the empty and the full coalition.
 */
export function shapleyKernelWeight(features: number, size: number): number {
  if (size <= 0 || size >= features) return Infinity;
  return (features - 1) / (binomial(features, size) * size * (features - size));
}

/** C(n, k) as a float. */
export function binomial(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  let result = 1;
  for (let index = 1; index <= Math.min(k, n - k); index += 1) result = (result * (n - Math.min(k, n - k) + index)) / index;
  return result;
}

/** A small seeded generator (mulberry32): the core has no global randomness. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Coalition {
  /** Indices into the varying features. */
  members: boolean[];
  weight: number;
}

function allCoalitions(features: number): Coalition[] {
  const coalitions: Coalition[] = [];
  for (let mask = 1; mask < (1 << features) - 1; mask += 1) {
    const members = Array.from({ length: features }, (_, index) => (mask & (1 << index)) !== 0);
    coalitions.push({ members, weight: shapleyKernelWeight(features, members.filter(Boolean).length) });
  }
  return coalitions;
}

function subsetsOfSize(features: number, size: number): boolean[][] {
  const result: boolean[][] = [];
  const chosen: number[] = [];
  const walk = (start: number) => {
    if (chosen.length === size) {
      const members = Array<boolean>(features).fill(false);
      for (const index of chosen) members[index] = true;
      result.push(members);
      return;
    }
    for (let index = start; index <= features - (size - chosen.length); index += 1) {
      chosen.push(index);
      walk(index + 1);
      chosen.pop();
    }
  };
  walk(0);
  return result;
}

/**
 * The shap package's sampler: subset sizes whose share of the kernel's weight the budget covers are enumerated in
 * full (a size and its complement together); the rest are drawn by kernel weight, each draw with its complement.
 */
function sampledCoalitions(features: number, budget: number, random: () => number): Coalition[] {
  const sizes = Math.ceil((features - 1) / 2);
  const pairedSizes = Math.floor((features - 1) / 2);
  const sizeWeights = Array.from({ length: sizes }, (_, index) => {
    const size = index + 1;
    return ((features - 1) / (size * (features - size))) * (size <= pairedSizes ? 2 : 1);
  });
  const totalWeight = sizeWeights.reduce((sum, weight) => sum + weight, 0);
  for (let index = 0; index < sizes; index += 1) sizeWeights[index] /= totalWeight;

  const coalitions: Coalition[] = [];
  let left = budget;
  let remaining = [...sizeWeights];
  let fullSizes = 0;
  for (let size = 1; size <= sizes; size += 1) {
    const paired = size <= pairedSizes;
    const count = binomial(features, size) * (paired ? 2 : 1);
    if ((left * remaining[size - 1]) / count < 1 - 1e-8) break;
    fullSizes += 1;
    left -= count;
    if (remaining[size - 1] < 1) remaining = remaining.map((weight) => weight / (1 - remaining[size - 1]));
    const weight = sizeWeights[size - 1] / count;
    for (const members of subsetsOfSize(features, size)) {
      coalitions.push({ members, weight });
      if (paired) coalitions.push({ members: members.map((member) => !member), weight });
    }
  }
  if (fullSizes === sizes || left <= 0) return coalitions;

  const leftWeights = sizeWeights.slice(fullSizes);
  const leftTotal = leftWeights.reduce((sum, weight) => sum + weight, 0);
  const drawn = new Map<string, Coalition>();
  const add = (members: boolean[]) => {
    const key = members.map((member) => (member ? '1' : '0')).join('');
    const existing = drawn.get(key);
    if (existing) existing.weight += 1;
    else drawn.set(key, { members, weight: 1 });
  };
  for (let attempt = 0; attempt < 4 * left && drawn.size < left; attempt += 1) {
    let pick = random() * leftTotal;
    let offset = 0;
    while (offset < leftWeights.length - 1 && pick >= leftWeights[offset]) { pick -= leftWeights[offset]; offset += 1; }
    const size = fullSizes + offset + 1;
    const order = Array.from({ length: features }, (_, index) => index);
    for (let index = 0; index < size; index += 1) {
      const swap = index + Math.floor(random() * (features - index));
      [order[index], order[swap]] = [order[swap], order[index]];
    }
    const members = Array<boolean>(features).fill(false);
    for (const index of order.slice(0, size)) members[index] = true;
    add(members);
    if (size <= pairedSizes) add(members.map((member) => !member));
  }
  // The drawn coalitions share the weight the enumerated sizes left over, in proportion to how often each was drawn.
  const sampled = [...drawn.values()];
  const drawnTotal = sampled.reduce((sum, coalition) => sum + coalition.weight, 0);
  for (const coalition of sampled) coalition.weight *= leftTotal / drawnTotal;
  return [...coalitions, ...sampled];
}

/** Solves A x = b (A square) by Gaussian elimination with partial pivoting. */
function solve(matrix: number[][], vector: number[]): number[] {
  const size = vector.length;
  const a = matrix.map((row, index) => [...row, vector[index]]);
  for (let column = 0; column < size; column += 1) {
    let pivot = column;
    for (let row = column + 1; row < size; row += 1) if (Math.abs(a[row][column]) > Math.abs(a[pivot][column])) pivot = row;
    if (Math.abs(a[pivot][column]) < 1e-300) throw new Error('Kernel SHAP: the coalitions do not determine the attributions (singular system)');
    [a[column], a[pivot]] = [a[pivot], a[column]];
    for (let row = column + 1; row < size; row += 1) {
      const factor = a[row][column] / a[column][column];
      for (let k = column; k <= size; k += 1) a[row][k] -= factor * a[column][k];
    }
  }
  const result = Array<number>(size).fill(0);
  for (let row = size - 1; row >= 0; row -= 1) {
    let sum = a[row][size];
    for (let k = row + 1; k < size; k += 1) sum -= a[row][k] * result[k];
    result[row] = sum / a[row][row];
  }
  return result;
}

/**
 * Weighted least squares of y ≈ Σ z_j φ_j subject to Σ φ_j = total (local accuracy), by eliminating the last φ:
 * y − z_M·total = Σ_{j<M} (z_j − z_M) φ_j.
 */
export function constrainedRegression(members: readonly boolean[][], targets: readonly number[], weights: readonly number[], total: number): number[] {
  const features = members[0]?.length ?? 0;
  if (features === 0) return [];
  if (features === 1) return [total];
  const size = features - 1;
  const normal = Array.from({ length: size }, () => Array<number>(size).fill(0));
  const right = Array<number>(size).fill(0);
  for (let index = 0; index < members.length; index += 1) {
    const last = members[index][size] ? 1 : 0;
    const row = Array.from({ length: size }, (_, j) => (members[index][j] ? 1 : 0) - last);
    const target = targets[index] - last * total;
    const weight = weights[index];
    for (let j = 0; j < size; j += 1) {
      if (row[j] === 0) continue;
      right[j] += weight * row[j] * target;
      for (let k = 0; k < size; k += 1) normal[j][k] += weight * row[j] * row[k];
    }
  }
  const head = solve(normal, right);
  return [...head, total - head.reduce((sum, value) => sum + value, 0)];
}

async function evaluateInBatches(evaluate: BatchEvaluator, rows: number[][], batchRows: number): Promise<number[]> {
  const results: number[] = [];
  for (let start = 0; start < rows.length; start += batchRows) {
    const chunk = rows.slice(start, start + batchRows);
    const scores = await evaluate(chunk);
    if (scores.length !== chunk.length) throw new Error(`the model answered ${scores.length} predictions for ${chunk.length} rows`);
    for (const score of scores) {
      if (typeof score !== 'number' || !Number.isFinite(score)) throw new Error(`the model answered a prediction that is not a finite number: ${JSON.stringify(score)}`);
      results.push(score);
    }
  }
  return results;
}

/**
 * Kernel SHAP attributions of `instance` against `background` (the reference rows whose features stand in for the
 * missing ones). Features equal to the instance in every background row get 0 and leave the regression.
 * @example await kernelShap(async (rows) => rows.map((r) => Math.max(...r)), [1, 2, 3], [[0, 0, 0]]) // φ = [1/3, 5/6, 11/6]
 */
export async function kernelShap(evaluate: BatchEvaluator, instance: readonly number[], background: readonly (readonly number[])[], options: KernelShapOptions = {}): Promise<ShapExplanation> {
  if (background.length === 0) throw new RangeError('Kernel SHAP needs at least one background row');
  const width = instance.length;
  for (const row of background) {
    if (row.length !== width) throw new RangeError(`every background row needs ${width} features like the instance, one has ${row.length}`);
  }
  const batchRows = options.batchRows ?? 10_000;
  const varying = instance.map((_, j) => j).filter((j) => background.some((row) => row[j] !== instance[j]));
  const active = varying.length;
  const maxExact = options.maxExactFeatures ?? 12;
  const exact = active <= maxExact;
  const coalitions = active < 2 ? [] : exact
    ? allCoalitions(active)
    : sampledCoalitions(active, options.samples ?? 2 * active + 2048, seededRandom(options.seed ?? 0));

  const rows: number[][] = [[...instance], ...background.map((row) => [...row])];
  for (const coalition of coalitions) {
    for (const row of background) {
      const mixed = [...row];
      coalition.members.forEach((member, index) => { if (member) mixed[varying[index]] = instance[varying[index]]; });
      rows.push(mixed);
    }
  }
  const scores = await evaluateInBatches(evaluate, rows, batchRows);
  const value = scores[0];
  const mean = (from: number) => {
    let sum = 0;
    for (let index = 0; index < background.length; index += 1) sum += scores[from + index];
    return sum / background.length;
  };
  const baseValue = mean(1);
  const targets = coalitions.map((_, index) => mean(1 + background.length * (index + 1)) - baseValue);
  const solved = active === 0 ? [] : constrainedRegression(
    active === 1 ? [[true]] : coalitions.map((coalition) => coalition.members), targets, coalitions.map((coalition) => coalition.weight), value - baseValue);
  const attributions = Array<number>(width).fill(0);
  varying.forEach((feature, index) => { attributions[feature] = solved[index]; });
  return { baseValue, value, attributions, exact, coalitions: coalitions.length, evaluations: rows.length };
}
