// `covenant explain` against a tiny local KServe v1 model server: exact attributions, batching, vendor checks, and clear errors.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCovenant } from './helpers/process.js';

const weights = [2, -1, 0.5];
const models: Record<string, (row: number[]) => unknown> = {
  max: (row) => Math.max(...row),
  linear: (row) => 1 + row.reduce((sum, value, index) => sum + weights[index] * value, 0),
  // A classifier answering [P(class 0), P(class 1)] per instance.
  proba: (row) => { const p = 1 / (1 + Math.exp(-(row[0] - row[1]))); return [1 - p, p]; },
};

let server: Server;
let base: string;
let directory: string;
const batches: number[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => { body += chunk.toString(); });
    request.on('end', () => {
      const name = /^\/v1\/models\/([^:]+):predict$/.exec(request.url ?? '')?.[1] ?? '';
      response.setHeader('content-type', 'application/json');
      if (name === 'slow') return; // never answers
      if (name === 'broken') { response.statusCode = 500; response.end('{"error":"model crashed"}'); return; }
      const { instances } = JSON.parse(body) as { instances: number[][] };
      batches.push(instances.length);
      if (name === 'short') { response.end(JSON.stringify({ predictions: instances.slice(1).map(() => 0) })); return; }
      if (name === 'text') { response.end(JSON.stringify({ predictions: instances.map(() => 'approve') })); return; }
      const model = models[name];
      if (!model) { response.statusCode = 404; response.end('{"error":"no such model"}'); return; }
      response.end(JSON.stringify({ predictions: instances.map(model) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}/v1/models`;
  directory = mkdtempSync(join(tmpdir(), 'covenant-explain-'));
  writeFileSync(join(directory, 'origin.csv'), 'x1,x2,x3\n0,0,0\n');
  writeFileSync(join(directory, 'background.csv'), 'income,debt,age\n1,2,30\n3,0,40\n2,1,50\n');
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(directory, { recursive: true, force: true });
});

interface Explained {
  method: string;
  value: number;
  base_value: number;
  attributions: Record<string, number>;
  exact: boolean;
  requests: number;
  evaluations: number;
  check?: { agrees: boolean; features: { feature: string; agrees: boolean }[] };
}

async function explain(args: string[]) {
  return runCovenant(['explain', ...args]);
}

describe('covenant explain', () => {
  it('gives the exact Shapley values of max(x1, x2, x3) at (1, 2, 3): 1/3, 5/6, 11/6, in one request', async () => {
    batches.length = 0;
    const result = await explain(['--endpoint', `${base}/max:predict`, '--background', join(directory, 'origin.csv'), '--instance', '[1,2,3]', '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const explained = JSON.parse(result.stdout) as Explained;
    expect(explained).toMatchObject({ method: 'kernel_shap', value: 3, base_value: 0, exact: true, requests: 1, evaluations: 8 });
    expect(explained.attributions.x1).toBeCloseTo(1 / 3, 10);
    expect(explained.attributions.x2).toBeCloseTo(5 / 6, 10);
    expect(explained.attributions.x3).toBeCloseTo(11 / 6, 10);
    expect(batches).toEqual([8]);
  });

  it('prints attributions sorted by magnitude with the base value and f(x)', async () => {
    const result = await explain(['--endpoint', `${base}/linear:predict`, '--background', join(directory, 'background.csv'),
      '--instance', '{"income": 5, "debt": 4, "age": 20}']);
    expect(result.code).toBe(0);
    // f = 1 + 2·income − debt + 0.5·age; background scores 16, 27, 29. Means: income 2, debt 1, age 40 → φ = 2·3, −1·3, 0.5·(−20) = 6, −3, −10.
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe('f(x) = 17.0000   base value E[f(background)] = 24.0000   (3 background rows)');
    const table = lines.slice(lines.indexOf('FEATURE  VALUE  ATTRIBUTION'));
    expect(table.slice(1, 4)).toEqual(['age         20  -10.0000', 'income       5  +6.0000', 'debt         4  -3.0000']);
    expect(result.stdout).toContain('sum of attributions -7.0000 = f(x) − base value');
  });

  it('batches the coalitions into requests of --batch-rows', async () => {
    batches.length = 0;
    const result = await explain(['--endpoint', `${base}/max:predict`, '--background', join(directory, 'origin.csv'), '--instance', '[1,2,3]', '--batch-rows', '3', '--json']);
    expect((JSON.parse(result.stdout) as Explained).requests).toBe(3);
    expect(batches).toEqual([3, 3, 2]);
  });

  it('explains one class of a classifier with --output-index, and asks for it otherwise', async () => {
    const chosen = await explain(['--endpoint', `${base}/proba:predict`, '--background', join(directory, 'origin.csv'), '--instance', '[2,1,7]', '--output-index', '1', '--json']);
    expect(chosen.code).toBe(0);
    const explained = JSON.parse(chosen.stdout) as Explained;
    expect(explained.attributions.x3).toBe(0); // x3 does not move the model: its exact Shapley value is 0
    expect(explained.value - explained.base_value).toBeCloseTo(1 / (1 + Math.exp(-1)) - 0.5, 10);
    const unchosen = await explain(['--endpoint', `${base}/proba:predict`, '--background', join(directory, 'origin.csv'), '--instance', '[2,1,7]']);
    expect(unchosen.code).toBe(2);
    expect(unchosen.stderr).toContain('choose one with --output-index');
  });

  it('checks a vendor\'s explanation: exit 0 when it agrees, 1 when it does not', async () => {
    const honest = join(directory, 'honest.json');
    const dishonest = join(directory, 'dishonest.json');
    writeFileSync(honest, JSON.stringify({ method: 'shap', base_value: 24, attributions: { income: 6, debt: -3, age: -10 } }));
    // Blames age less and debt more, and still sums to f(x) − base: only recomputing reveals it.
    writeFileSync(dishonest, JSON.stringify({ method: 'shap', base_value: 24, attributions: { income: 6, debt: -8, age: -5 } }));
    const common = ['--endpoint', `${base}/linear:predict`, '--background', join(directory, 'background.csv'), '--instance', '[5,4,20]'];
    const agrees = await explain([...common, '--check', honest]);
    expect(agrees.code).toBe(0);
    expect(agrees.stdout).toContain("Result: the vendor's explanation agrees.");
    const disagrees = await explain([...common, '--check', dishonest, '--json']);
    expect(disagrees.code).toBe(1);
    const checked = JSON.parse(disagrees.stdout) as Explained & { check: { vendor_locally_accurate: boolean } };
    expect(checked.check.agrees).toBe(false);
    expect(checked.check.vendor_locally_accurate).toBe(true);
    expect(checked.check.features.filter((feature) => !feature.agrees).map((feature) => feature.feature)).toEqual(['debt', 'age']);
  });

  it('gives clear input errors (exit 2) for a bad endpoint or a bad answer', async () => {
    const origin = join(directory, 'origin.csv');
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const cases: [string[], string][] = [
      [['--endpoint', `http://127.0.0.1:${closedPort}/v1/models/m:predict`], `cannot reach the model at http://127.0.0.1:${closedPort}/v1/models/m:predict: ECONNREFUSED`],
      [['--endpoint', `${base}/broken:predict`], 'answered HTTP 500: {"error":"model crashed"}'],
      [['--endpoint', `${base}/short:predict`], 'answered 7 predictions for 8 instances'],
      [['--endpoint', `${base}/text:predict`], 'prediction 0 from'],
      [['--endpoint', `${base}/slow:predict`, '--timeout', '0.5'], 'did not answer within 500 ms'],
      [['--endpoint', 'not a url'], '--endpoint "not a url" is not a URL'],
    ];
    for (const [args, message] of cases) {
      const result = await explain([...args, '--background', origin, '--instance', '[1,2,3]']);
      expect(result.code, message).toBe(2);
      expect(result.stderr).toContain(message);
    }
    const wrongWidth = await explain(['--endpoint', `${base}/max:predict`, '--background', origin, '--instance', '[1,2]']);
    expect(wrongWidth.code).toBe(2);
    expect(wrongWidth.stderr).toContain('--instance has 2 values; the background has 3 columns (x1, x2, x3)');
  });
});
