// Kernel SHAP against exact Shapley values: the published max example, linear models, and a slow reference.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { binomial, kernelShap, shapleyKernelWeight, type BatchEvaluator } from '../src/core/shap.js';
import { interventionalGame, referenceShapley } from '../src/core/shap-reference.js';

const scoring = (model: (row: readonly number[]) => number): BatchEvaluator => async (rows) => rows.map(model);

describe('Kernel SHAP', () => {
  it('gives the Shapley kernel weights', () => {
    expect(binomial(5, 2)).toBe(10);
    expect(shapleyKernelWeight(4, 1)).toBeCloseTo(3 / (4 * 1 * 3), 12);
    expect(shapleyKernelWeight(4, 2)).toBeCloseTo(3 / (6 * 2 * 2), 12);
    expect(shapleyKernelWeight(4, 0)).toBe(Infinity);
    expect(shapleyKernelWeight(4, 4)).toBe(Infinity);
  });

  it('explains max(x1, x2, x3) at (1, 2, 3) against (0, 0, 0) as (1/3, 5/6, 11/6)', async () => {
    const explanation = await kernelShap(scoring((row) => Math.max(...row)), [1, 2, 3], [[0, 0, 0]]);
    expect(explanation.exact).toBe(true);
    expect(explanation.baseValue).toBe(0);
    expect(explanation.value).toBe(3);
    expect(explanation.attributions[0]).toBeCloseTo(1 / 3, 12);
    expect(explanation.attributions[1]).toBeCloseTo(5 / 6, 12);
    expect(explanation.attributions[2]).toBeCloseTo(11 / 6, 12);
  });

  it('gives a linear model w_j (x_j − mean background x_j), exactly or sampled', async () => {
    for (const features of [4, 20]) {
      const weights = Array.from({ length: features }, (_, index) => (index % 3) - 1.5 + index / 10);
      const model = (row: readonly number[]) => 0.7 + row.reduce((sum, value, index) => sum + weights[index] * value, 0);
      const instance = Array.from({ length: features }, (_, index) => index * 0.5 - 2);
      const background = [0, 1, 2].map((shift) => Array.from({ length: features }, (_, index) => Math.sin(index + shift)));
      const explanation = await kernelShap(scoring(model), instance, background);
      expect(explanation.exact).toBe(features <= 12);
      explanation.attributions.forEach((value, index) => {
        const mean = background.reduce((sum, row) => sum + row[index], 0) / background.length;
        expect(value).toBeCloseTo(weights[index] * (instance[index] - mean), 8);
      });
    }
  });

  it('matches exact Shapley values of a model with interactions', async () => {
    const model = (row: readonly number[]) => row[0] * row[1] + Math.max(row[2], row[3]) - 2 * row[4] * row[0] * row[3] + row[1] ** 2;
    const instance = [1.5, -2, 3, 0.5, 2];
    const background = [[0, 0, 0, 0, 0], [1, 1, -1, 2, 0.5], [-0.5, 2, 1, 1, -1]];
    const explanation = await kernelShap(scoring(model), instance, background);
    const reference = referenceShapley(5, interventionalGame(model, instance, background));
    explanation.attributions.forEach((value, index) => expect(value).toBeCloseTo(reference[index], 10));
  });

  it('estimates many features by paired sampling, close to the exact values and exactly locally accurate', async () => {
    const features = 14;
    const model = (row: readonly number[]) => row.reduce((sum, value, index) => sum + (index + 1) * value, 0) / 10 + row[0] * row[1] - Math.max(row[2], row[3]) * row[4];
    const instance = Array.from({ length: features }, (_, index) => 1 + (index % 4));
    const background = [Array<number>(features).fill(0), Array.from({ length: features }, (_, index) => index % 2)];
    const explanation = await kernelShap(scoring(model), instance, background, { samples: 3000 });
    expect(explanation.exact).toBe(false);
    expect(explanation.coalitions).toBeLessThanOrEqual(3000);
    const reference = referenceShapley(features, interventionalGame(model, instance, background));
    explanation.attributions.forEach((value, index) => expect(Math.abs(value - reference[index])).toBeLessThan(0.05));
    const sum = explanation.attributions.reduce((total, value) => total + value, 0);
    expect(sum).toBeCloseTo(explanation.value - explanation.baseValue, 10);
    // The same seed gives the same explanation.
    const again = await kernelShap(scoring(model), instance, background, { samples: 3000 });
    expect(again.attributions).toEqual(explanation.attributions);
  });

  it('is locally accurate for random linear models', async () => {
    const vector = (length: number) => fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: length, maxLength: length });
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 16 }).chain((features) => fc.tuple(
      vector(features), vector(features), fc.array(vector(features), { minLength: 1, maxLength: 4 }), fc.double({ min: -5, max: 5, noNaN: true }),
    )), async ([weights, instance, background, intercept]) => {
      const model = (row: readonly number[]) => intercept + row.reduce((sum, value, index) => sum + weights[index] * value, 0);
      const explanation = await kernelShap(scoring(model), instance, background, { samples: 200 });
      const sum = explanation.attributions.reduce((total, value) => total + value, 0);
      const scale = 1 + Math.abs(explanation.value) + Math.abs(explanation.baseValue);
      expect(Math.abs(sum - (explanation.value - explanation.baseValue))).toBeLessThan(1e-9 * scale);
      explanation.attributions.forEach((value, index) => {
        const mean = background.reduce((total, row) => total + row[index], 0) / background.length;
        expect(Math.abs(value - weights[index] * (instance[index] - mean))).toBeLessThan(1e-6 * (1 + Math.abs(weights[index]) * 20));
      });
    }), { numRuns: 60 });
  });

  it('gives 0 to features that never differ from the background, and batches the evaluations', async () => {
    const sizes: number[] = [];
    const model = (row: readonly number[]) => 2 * row[0] + 5 * row[1] + row[2];
    const evaluate: BatchEvaluator = async (rows) => { sizes.push(rows.length); return rows.map(model); };
    const explanation = await kernelShap(evaluate, [1, 7, 3], [[0, 7, 0], [2, 7, 1]], { batchRows: 5 });
    // Feature 0 varies but its mean equals the instance's; feature 1 never varies.
    expect(explanation.attributions[0]).toBeCloseTo(0, 12);
    expect(explanation.attributions[1]).toBe(0);
    expect(explanation.attributions[2]).toBeCloseTo(2.5, 12);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(5);
    expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(explanation.evaluations);
  });

  it('refuses a model that answers the wrong number of predictions or a non-number', async () => {
    await expect(kernelShap(async (rows) => rows.slice(1).map(() => 1), [1, 2], [[0, 0]])).rejects.toThrow(/predictions for/);
    await expect(kernelShap(async (rows) => rows.map(() => Number.NaN), [1, 2], [[0, 0]])).rejects.toThrow(/finite number/);
    await expect(kernelShap(scoring(() => 1), [1, 2], [[0]])).rejects.toThrow(/features/);
  });
});
