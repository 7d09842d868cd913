// `covenant explain` on the COMPAS data with the example KServe model: the README's command gives the exact Shapley values.
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { thinRows } from '../src/cli/explain.js';
import { readCsvFile } from '../src/cli/csv-table.js';
import { interventionalGame, referenceShapley } from '../src/core/shap-reference.js';
import { features, recidivismScore, startModel } from '../examples/kserve-recidivism.mjs';
import { runCovenant } from './helpers/process.js';
import { sharedData } from './helpers/shared-data.js';

const compas = sharedData('compas-two-years.csv');
let server: Server;
let endpoint: string;

beforeAll(async () => {
  server = await startModel(0);
  endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}/v1/models/recidivism:predict`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('covenant explain on COMPAS', () => {
  compas.test('matches the exact Shapley values over the 100 background rows it uses', async (path) => {
    const instance = [23, 5, 1, 0];
    const result = await runCovenant(['explain', '--endpoint', endpoint, '--background', path,
      '--features', features.join(','), '--instance', JSON.stringify(instance), '--json']);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('using 100 evenly spaced rows of the 7214');
    const explained = JSON.parse(result.stdout) as { value: number; base_value: number; attributions: Record<string, number>; exact: boolean; requests: number };
    expect(explained.exact).toBe(true);
    expect(explained.requests).toBe(1);
    const table = readCsvFile(path);
    const background = thinRows(table.rows.map((row) => features.map((feature) => Number(row[feature]))), 100);
    const reference = referenceShapley(features.length, interventionalGame(recidivismScore, instance, background));
    features.forEach((feature, index) => expect(explained.attributions[feature]).toBeCloseTo(reference[index], 10));
    expect(explained.value).toBeCloseTo(recidivismScore(instance), 12);
    // Being 23 pushes the score up most; no juvenile misdemeanours pulls it (slightly) down.
    expect(explained.attributions.age).toBeGreaterThan(explained.attributions.priors_count);
    expect(explained.attributions.juv_misd_count).toBeLessThan(0);
  });
});
