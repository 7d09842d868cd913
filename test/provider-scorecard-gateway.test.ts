// Time to first token and provider scorecards through the gateway, against fake upstreams with known latencies.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { percentile } from '../src/core/provider-scorecard.js';
import { startFakeOpenAI, type FakeOpenAI } from './fakes/openai.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const userKey = 'sk-test-user-1';
const narrowKey = 'sk-test-narrow-1';
const adminKey = 'sk-test-admin-1';
const researchAdminKey = 'sk-test-admin-research';

/** The fakes' waits: before the answer, and between stream frames. */
const streamLatencyMs = 30;
const tokenDelayMs = 20;
const jsonLatencyMs = 150;

let quick: FakeOpenAI;
let slow: FakeOpenAI;
let gateway: TestGateway;

interface Entry { kind: string; provider: string | null; alias: string | null; stream: boolean; ttft_ms: number | null; latency_ms: number; error: string | null; decision: { outcome: string } }

async function chat(key: string, body: Record<string, unknown>): Promise<Response> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  await response.text();
  return response;
}

async function admin<T>(path: string, key = adminKey): Promise<{ status: number; body: T }> {
  const response = await fetch(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
  return { status: response.status, body: await response.json() as T };
}

let entries: Entry[];

beforeAll(async () => {
  const prices = { 'gpt-4o-mini-2024-07-18': { input_per_mtok: 0.15, output_per_mtok: 0.6 } };
  quick = await startFakeOpenAI({ apiKey: 'sk-upstream', prices, behaviour: { latencyMs: streamLatencyMs, tokenDelayMs } });
  slow = await startFakeOpenAI({ apiKey: 'sk-upstream', prices, behaviour: { latencyMs: jsonLatencyMs } });
  gateway = await startTestGateway(`
store: sqlite:{{DB}}
admin_keys:
  - { name: ops, key_env: ADMIN_KEY }
  - { name: research-ops, key_env: RESEARCH_ADMIN, role: auditor, department: research }
providers:
  - { name: quick, type: openai, api_key_env: UPSTREAM_KEY, base_url: ${quick.url} }
  - { name: slow, type: openai, api_key_env: UPSTREAM_KEY, base_url: ${slow.url} }
models:
  - { alias: a, provider: quick, version: gpt-4o-mini-2024-07-18 }
  - { alias: b, provider: slow, version: gpt-4o-mini-2024-07-18 }
org:
  name: acme
  departments:
    - name: claims
      keys:
        - { name: triage-bot, key_env: USER_KEY }
        - { name: narrow-bot, key_env: NARROW_KEY, models: [a] }
    - name: research
      keys: []
`, { ADMIN_KEY: adminKey, RESEARCH_ADMIN: researchAdminKey, USER_KEY: userKey, NARROW_KEY: narrowKey, UPSTREAM_KEY: 'sk-upstream' });

  for (let index = 0; index < 3; index++) {
    expect((await chat(userKey, { model: 'a', stream: true, messages: [{ role: 'user', content: `stream ${index}` }], max_tokens: 4 })).status).toBe(200);
  }
  for (let index = 0; index < 2; index++) {
    expect((await chat(userKey, { model: 'b', messages: [{ role: 'user', content: `json ${index}` }], max_tokens: 4 })).status).toBe(200);
  }
  // A refusal (narrow-bot may not use b) and a provider failure, both against the slow provider.
  expect((await chat(narrowKey, { model: 'b', messages: [{ role: 'user', content: 'refused' }] })).status).toBe(403);
  slow.setBehaviour({ fail: { status: 500, message: 'boom', times: 1 } });
  expect((await chat(userKey, { model: 'b', messages: [{ role: 'user', content: 'fails' }], max_tokens: 4 })).status).toBe(502);
  slow.setBehaviour({ latencyMs: jsonLatencyMs });

  const { body } = await admin<{ data?: { entry?: Entry }[]; entries?: Entry[] }>('/admin/audit/entries?limit=100');
  const list = (body.data ?? body.entries ?? []) as unknown[];
  entries = list.map((item) => ((item as { entry?: Entry }).entry ?? item) as Entry).filter((entry) => entry.kind === 'inference');
});

afterAll(async () => {
  await gateway?.stop();
  await quick?.close();
  await slow?.close();
});

describe('time to first token', () => {
  it('is the first chunk with content for streams, the whole answer for JSON, in the ledger entry', () => {
    const streams = entries.filter((entry) => entry.alias === 'a');
    const json = entries.filter((entry) => entry.alias === 'b' && entry.decision.outcome === 'allowed' && entry.error === null);
    expect(streams).toHaveLength(3);
    expect(json).toHaveLength(2);
    for (const entry of streams) {
      // The role-only first frame does not count: content comes one frame delay after the fake's wait.
      expect(entry.ttft_ms).toBeGreaterThanOrEqual(streamLatencyMs + tokenDelayMs - 2);
      // Later frames keep coming: the first token is well before the end.
      expect(entry.ttft_ms!).toBeLessThan(entry.latency_ms - 2 * tokenDelayMs);
    }
    for (const entry of json) {
      expect(entry.ttft_ms).toBeGreaterThanOrEqual(jsonLatencyMs - 2);
      expect(entry.ttft_ms!).toBeLessThanOrEqual(entry.latency_ms);
    }
    const refused = entries.find((entry) => entry.decision.outcome === 'refused')!;
    expect(refused.ttft_ms).toBeNull();
    const failed = entries.find((entry) => entry.error !== null)!;
    expect(failed.ttft_ms).toBeNull();
  });

  it('is a histogram per alias and provider in /metrics', async () => {
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(metrics).toMatch(/covenant_time_to_first_token_seconds_count\{alias="a",provider="quick"\} 3/);
    expect(metrics).toMatch(/covenant_time_to_first_token_seconds_count\{alias="b",provider="slow"\} 2/);
    // Every JSON answer of the slow provider took longer than a tenth of a second.
    expect(metrics).toMatch(/covenant_time_to_first_token_seconds_bucket\{le="0\.1",alias="b",provider="slow"\} 0/);
  });
});

interface ScorecardBody {
  since: string; until: string; department: string | null; percentile_method: string;
  providers: {
    provider: string; model_version: string; requests: number; errors: number; refusals: number; error_rate: number; refusal_rate: number;
    ttft_ms: { p50: number; p95: number } | null; latency_ms: { p50: number; p95: number } | null;
    input_tokens: number; output_tokens: number; cost_usd_micros: number; cost_per_million_input_usd: number | null; cost_per_million_output_usd: number | null;
  }[];
}

describe('GET /admin/providers/scorecard', () => {
  it('scores each provider and model version from the ledger', async () => {
    const { status, body } = await admin<ScorecardBody>(`/admin/providers/scorecard?since=${encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString())}`);
    expect(status).toBe(200);
    expect(body.percentile_method).toMatch(/nearest-rank/);
    expect(body.providers.map((row) => row.provider)).toEqual(['quick', 'slow']);
    const [quickRow, slowRow] = body.providers;
    const sorted = (alias: string, field: 'ttft_ms' | 'latency_ms') => entries
      .filter((entry) => entry.alias === alias && entry.decision.outcome === 'allowed' && entry.error === null)
      .map((entry) => entry[field]!).sort((x, y) => x - y);
    expect(quickRow).toMatchObject({
      model_version: 'gpt-4o-mini-2024-07-18', requests: 3, errors: 0, refusals: 0, error_rate: 0, refusal_rate: 0,
      // Three values: p50 is the second, p95 the third.
      ttft_ms: { p50: sorted('a', 'ttft_ms')[1], p95: sorted('a', 'ttft_ms')[2] },
      latency_ms: { p50: sorted('a', 'latency_ms')[1], p95: sorted('a', 'latency_ms')[2] },
    });
    expect(quickRow!.ttft_ms!.p50).toBeGreaterThanOrEqual(streamLatencyMs + tokenDelayMs - 2);
    expect(slowRow).toMatchObject({
      requests: 4, errors: 1, refusals: 1, error_rate: 0.25, refusal_rate: 0.25,
      // Two answered calls: p50 is the first, p95 the second.
      ttft_ms: { p50: percentile(sorted('b', 'ttft_ms'), 50), p95: sorted('b', 'ttft_ms')[1] },
    });
    expect(slowRow!.latency_ms!.p50).toBeGreaterThanOrEqual(jsonLatencyMs - 2);
    // What was charged is the fakes' own bill; per million tokens it is the model's price (less than a micro-dollar of rounding per call).
    for (const [row, fake] of [[quickRow!, quick], [slowRow!, slow]] as const) {
      expect(row.cost_usd_micros).toBe(fake.bill.costMicros);
      expect(row.input_tokens).toBe(fake.bill.inputTokens);
      expect(row.output_tokens).toBe(fake.bill.outputTokens);
      expect(row.cost_per_million_input_usd!).toBeGreaterThanOrEqual(0.15);
      expect(row.cost_per_million_input_usd!).toBeLessThanOrEqual(0.15 + (fake.bill.requests + 0.5) / row.input_tokens);
      expect(row.cost_per_million_output_usd!).toBeGreaterThanOrEqual(0.6 - (fake.bill.requests + 0.5) / row.output_tokens);
      expect(row.cost_per_million_output_usd!).toBeLessThanOrEqual(0.6 + (fake.bill.requests + 0.5) / row.output_tokens);
    }
  });

  it('covers only the window, checks its times, and shows a department-scoped key its department only', async () => {
    const future = await admin<ScorecardBody>(`/admin/providers/scorecard?since=${encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString())}`);
    expect(future.status).toBe(400);
    const later = await admin<ScorecardBody>(`/admin/providers/scorecard?since=2020-01-01T00:00:00Z&until=2020-01-02T00:00:00Z`);
    expect(later.body.providers).toEqual([]);
    const bad = await admin<{ error: { param: string } }>('/admin/providers/scorecard?since=yesterday');
    expect(bad.status).toBe(400);
    expect(bad.body.error.param).toBe('since');
    const scoped = await admin<ScorecardBody>('/admin/providers/scorecard', researchAdminKey);
    expect(scoped.status).toBe(200);
    expect(scoped.body).toMatchObject({ department: 'research', providers: [] });
  });
});

describe('covenant providers scorecard', () => {
  async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const previous = process.exitCode;
    process.exitCode = undefined;
    await main(args, { stdout: (text) => void (stdout += text), stderr: (text) => void (stderr += text), environment: { ADMIN_KEY: adminKey } });
    const code = Number(process.exitCode ?? 0);
    process.exitCode = previous;
    return { code, stdout, stderr };
  }

  it('prints the scorecard as a table and as JSON', async () => {
    const options = ['--url', gateway.url, '--admin-key-env', 'ADMIN_KEY'];
    const json = await run(['providers', 'scorecard', ...options, '--since', new Date(Date.now() - 3_600_000).toISOString(), '--json']);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as ScorecardBody;
    expect(report.providers.map((row) => [row.provider, row.requests])).toEqual([['quick', 3], ['slow', 4]]);
    const table = await run(['providers', 'scorecard', ...options]);
    expect(table.code).toBe(0);
    const lines = table.stdout.split('\n');
    expect(lines[1]).toMatch(/^PROVIDER\s+MODEL VERSION\s+REQUESTS\s+ERRORS\s+REFUSED\s+TTFT P50/);
    expect(lines[3]).toMatch(/^slow\s+gpt-4o-mini-2024-07-18\s+4\s+25\.0%\s+25\.0%\s+\d+ ms/);
  });

  it('refuses a --since that is not a date (exit 2)', async () => {
    const result = await run(['providers', 'scorecard', '--url', gateway.url, '--since', 'soon']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/not a date/);
  });
});
