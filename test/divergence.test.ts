// Drift statistics against published and hand-derived reference values, plus their invariants (fast-check).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  coefficientOfVariation, cosineSimilarity, jsDistance, jsDivergence, klDivergence, median, p95, permutationPValue,
  populationStabilityIndex, quantile, relativeChange, sampleJsDivergence, sharedHistograms,
} from '../src/core/divergence.js';
import { embedText } from '../src/core/embedding.js';
import { createMockProvider } from '../src/providers/mock/index.js';

describe('reference values', () => {
  it('KL, JS and PSI of p = [0.5, 0.5], q = [0.9, 0.1] (the contract issue\'s figures)', () => {
    expect(klDivergence([0.5, 0.5], [0.9, 0.1])).toBeCloseTo(0.5108256, 7);
    expect(jsDistance([0.5, 0.5], [0.9, 0.1])).toBeCloseTo(0.3189815, 7);
    expect(populationStabilityIndex([0.5, 0.5], [0.9, 0.1])).toBeCloseTo(0.8788898, 7);
  });

  it('KL of Wikipedia\'s worked example: P = binomial(2, 0.4), Q = uniform on {0, 1, 2}', () => {
    // https://en.wikipedia.org/wiki/Kullback%E2%80%93Leibler_divergence#Basic_example: 0.0852996 and 0.097455 nats.
    const p = [9 / 25, 12 / 25, 4 / 25];
    const q = [1 / 3, 1 / 3, 1 / 3];
    expect(klDivergence(p, q)).toBeCloseTo(0.0852996, 7);
    expect(klDivergence(q, p)).toBeCloseTo(0.097455, 6);
  });

  it('JS of distributions with disjoint support is ln 2; scipy.spatial.distance.jensenshannon([1,0],[0,1]) = 0.8325546', () => {
    expect(jsDivergence([1, 0], [0, 1])).toBeCloseTo(Math.LN2, 12);
    expect(jsDistance([1, 0], [0, 1])).toBeCloseTo(0.8325546, 7);
    // scipy.spatial.distance.jensenshannon's documented examples: ([1, 0], [0.5, 0.5]) = 0.46450140402245893;
    // ([1, 0, 0], [0, 1, 0], base 2) = 1.0.
    expect(jsDistance([1, 0], [0.5, 0.5])).toBeCloseTo(0.46450140402245893, 12);
    expect(jsDistance([1, 0, 0], [0, 1, 0]) / Math.sqrt(Math.LN2)).toBeCloseTo(1, 12);
  });

  it('counts are normalised, so a histogram and its probabilities give one answer', () => {
    expect(klDivergence([5, 5], [9, 1])).toBeCloseTo(0.5108256, 7);
    expect(jsDistance([50, 50], [90, 10])).toBeCloseTo(0.3189815, 7);
  });

  it('an empty bin is smoothed (documented epsilon), so KL and PSI stay finite and large', () => {
    const kl = klDivergence([0.5, 0.5], [1, 0]);
    expect(Number.isFinite(kl)).toBe(true);
    expect(kl).toBeGreaterThan(5);
    expect(Number.isFinite(populationStabilityIndex([1, 0], [0.5, 0.5]))).toBe(true);
    // An empty bin in p alone needs no smoothing: 0·ln 0 = 0, so KL([1, 0] ‖ [0.5, 0.5]) = ln 2 exactly.
    expect(klDivergence([1, 0], [0.5, 0.5])).toBeCloseTo(Math.LN2, 12);
  });

  it('quantiles interpolate like numpy (type 7): percentile(1..10, 95) = 9.55, median of 1..4 = 2.5', () => {
    const tens = [10, 9, 8, 7, 6, 5, 4, 3, 2, 1];
    expect(p95(tens)).toBeCloseTo(9.55, 12);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(quantile([7], 0.95)).toBe(7);
    expect(Number.isNaN(median([]))).toBe(true);
  });

  it('coefficient of variation uses the sample standard deviation: [2,4,4,4,5,5,7,9] → √(32/7)/5', () => {
    expect(coefficientOfVariation([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(Math.sqrt(32 / 7) / 5, 12);
    expect(coefficientOfVariation([3, 3, 3])).toBe(0);
  });

  it('cosine similarity: parallel 1, orthogonal 0, opposite -1; [1,2,3]·[4,5,6] = 32/√(14·77)', () => {
    expect(cosineSimilarity([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 12);
    expect(cosineSimilarity([1, 0], [0, 3])).toBe(0);
    expect(cosineSimilarity([1, 1], [-2, -2])).toBeCloseTo(-1, 12);
    expect(cosineSimilarity([1, 2, 3], [4, 5, 6])).toBeCloseTo(32 / Math.sqrt(14 * 77), 12);
  });

  it('shared histograms put both samples on the same edges; identical values make one bin', () => {
    const histograms = sharedHistograms([0, 1, 2, 3], [6, 7, 8, 9, 10], 5);
    expect(histograms.edges).toEqual([0, 2, 4, 6, 8, 10]);
    expect(histograms.baseline).toEqual([2, 2, 0, 0, 0]);
    expect(histograms.candidate).toEqual([0, 0, 0, 2, 3]);
    expect(sharedHistograms([4, 4], [4], 10)).toEqual({ edges: [4, 4], baseline: [2], candidate: [1] });
  });

  it('relative change is |Δ| / |baseline|', () => {
    expect(relativeChange(100, 115)).toBeCloseTo(0.15, 12);
    expect(relativeChange(100, 80)).toBeCloseTo(0.2, 12);
    expect(relativeChange(0, 0)).toBe(0);
  });

  it('a permutation test finds a real shift in lengths and none between samples of one distribution', () => {
    const same = permutationPValue([10, 11, 12, 10, 11, 12], [11, 10, 12, 12, 11, 10], sampleJsDivergence, 499, 7);
    const shifted = permutationPValue([10, 11, 12, 10, 11, 12], [30, 31, 32, 30, 31, 32], sampleJsDivergence, 499, 7);
    expect(same).toBeGreaterThan(0.5);
    expect(shifted).toBeLessThan(0.01);
    // Seeded: the same answer every time.
    expect(permutationPValue([1, 2, 3], [4, 5, 6], sampleJsDivergence, 199, 3)).toBe(permutationPValue([1, 2, 3], [4, 5, 6], sampleJsDivergence, 199, 3));
  });
});

const distribution = fc.array(fc.double({ min: 0, max: 100, noNaN: true }), { minLength: 1, maxLength: 12 })
  .filter((values) => values.some((value) => value > 1e-9));
const pair = fc.integer({ min: 1, max: 12 }).chain((length) => fc.tuple(
  fc.array(fc.double({ min: 0, max: 100, noNaN: true }), { minLength: length, maxLength: length }).filter((values) => values.some((value) => value > 1e-9)),
  fc.array(fc.double({ min: 0, max: 100, noNaN: true }), { minLength: length, maxLength: length }).filter((values) => values.some((value) => value > 1e-9)),
));

describe('invariants', () => {
  it('KL is never negative, and 0 for a distribution against itself', () => {
    fc.assert(fc.property(pair, ([p, q]) => klDivergence(p, q) >= 0));
    fc.assert(fc.property(distribution, (p) => Math.abs(klDivergence(p, p)) < 1e-12));
  });

  it('JS distance is symmetric and at most √ln 2', () => {
    fc.assert(fc.property(pair, ([p, q]) => {
      const forward = jsDistance(p, q);
      return Math.abs(forward - jsDistance(q, p)) < 1e-12 && forward >= 0 && forward <= Math.sqrt(Math.LN2) + 1e-12;
    }));
  });

  it('PSI is never negative', () => {
    fc.assert(fc.property(pair, ([p, q]) => populationStabilityIndex(p, q) >= -1e-12));
  });

  it('cosine similarity is in [-1, 1]', () => {
    const vectors = fc.integer({ min: 1, max: 16 }).chain((length) => fc.tuple(
      fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: length, maxLength: length }),
      fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: length, maxLength: length }),
    ));
    fc.assert(fc.property(vectors, ([a, b]) => {
      const value = cosineSimilarity(a, b);
      return value >= -1 && value <= 1;
    }));
    // Found by the property above: components so small that their squares underflow to zero.
    expect(cosineSimilarity([0, 0, -1.5717277847026288e-162], [-1.5717277847026288e-162, 0, 0])).toBe(0);
    expect(cosineSimilarity([1e-200, 0], [3e-200, 0])).toBe(1);
    expect(cosineSimilarity([1e200, 1e200], [-1e200, -1e200])).toBe(-1);
  });

  it('the median lies between the minimum and the p95', () => {
    fc.assert(fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 50 }), (values) => {
      const middle = median(values);
      return Math.min(...values) <= middle && middle <= p95(values) && p95(values) <= Math.max(...values);
    }));
  });
});

describe('built-in text embedding', () => {
  const similarity = (a: string, b: string) => cosineSimilarity(embedText(a), embedText(b));

  it('is deterministic, unit length and 256-dimensional by default', () => {
    const vector = embedText('The contract keeps the base model for 24 months.');
    expect(vector).toHaveLength(256);
    expect(embedText('The contract keeps the base model for 24 months.')).toEqual(vector);
    expect(Math.hypot(...vector)).toBeCloseTo(1, 12);
    expect(embedText('', 8)).toEqual(new Array(8).fill(0));
  });

  it('gives identical texts similarity 1 (case and punctuation aside)', () => {
    expect(similarity('Refunds take five business days.', 'Refunds take five business days.')).toBeCloseTo(1, 12);
    expect(similarity('Refunds take five business days.', 'refunds take FIVE business days')).toBeCloseTo(1, 12);
  });

  it('ranks paraphrases above unrelated texts', () => {
    const pairs = [
      ['The cat sat on the mat.', 'A cat was sitting on the mat.', 'Quarterly revenue grew by ten percent.'],
      ['Your refund will arrive within five business days.', 'The refund arrives in five business days.', 'I cannot help with building weapons.'],
      ['Paris is the capital of France.', 'The capital of France is Paris.', 'Photosynthesis converts light into chemical energy.'],
    ] as const;
    for (const [text, paraphrase, unrelated] of pairs) {
      expect(similarity(text, paraphrase)).toBeGreaterThan(similarity(text, unrelated) + 0.3);
    }
  });

  it('is what the mock provider answers /v1/embeddings with, so similarity is meaningful offline', async () => {
    const mock = createMockProvider({ name: 'mock', type: 'mock', timeoutMs: 1000 });
    const { response } = await mock.embed!({
      request: { model: 'mock-embed', input: ['The cat sat on the mat.', 'A cat was sitting on the mat.', 'Quarterly revenue grew by ten percent.'] },
      signal: new AbortController().signal,
    });
    const [text, paraphrase, unrelated] = response.data.map((entry) => entry.embedding as number[]);
    expect(text).toEqual(embedText('The cat sat on the mat.'));
    expect(text).toHaveLength(256);
    expect(cosineSimilarity(text!, paraphrase!)).toBeGreaterThan(cosineSimilarity(text!, unrelated!) + 0.3);
  });
});
