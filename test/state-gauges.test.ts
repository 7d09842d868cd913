// The gateway reports the per-user state it holds in memory (covenant_state_entries) as end users come.
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from './fakes/openai.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const version = 'gpt-4o-mini-2024-07-18';
let upstream: FakeOpenAI | undefined;
let gateway: TestGateway | undefined;
afterEach(async () => {
  await gateway?.stop();
  await upstream?.close();
});

/** covenant_state_entries by kind, from /metrics. */
async function stateEntries(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Object.fromEntries([...text.matchAll(/^covenant_state_entries\{kind="([^"]+)"\} (\S+)$/gm)].map((match) => [match[1], Number(match[2])]));
}

describe('per-user state gauges', () => {
  it('count the budget counters and rate-limit windows of each end user', async () => {
    upstream = await startFakeOpenAI({ prices: { [version]: { input_per_mtok: 1, output_per_mtok: 1 } }, outputTokens: 5 });
    gateway = await startTestGateway(`
store: sqlite:{{DB}}
providers: [ { name: openai, type: openai, base_url: ${upstream.url} } ]
models: [ { alias: fast, provider: openai, version: ${version}, price: { input_per_mtok: 1, output_per_mtok: 1 } } ]
org:
  name: acme
  departments:
    - name: claims
      user_budgets: [ { usd: 5, period: day }, { tokens: 100000, period: month } ]
      user_rate_limit: { rpm: 100 }
      keys: [ { name: bot, key_env: KEY } ]
`, { KEY: 'sk-bot' });
    for (const user of ['ana', 'ben', 'cleo', 'ana']) {
      const response = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: 'Bearer sk-bot', 'content-type': 'application/json', 'x-covenant-user': user },
        body: JSON.stringify({ model: 'fast', messages: [{ role: 'user', content: 'hello' }] }),
      });
      expect(response.status).toBe(200);
    }
    const entries = await stateEntries(gateway.url);
    // Two budgets per user, one rate-limit window per user; a scope's items are kept once it comes again (only ana's).
    expect(entries.budget_counters).toBe(6);
    expect(entries.rate_limit_counters).toBe(3);
    expect(entries.budget_scopes).toBe(1);
    expect(entries.burn_rate_counters).toBeGreaterThanOrEqual(0);
  });
});
