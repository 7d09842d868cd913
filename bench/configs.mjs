// Covenant configs for the benchmark's scenarios: one provider at the fake upstream, one alias, one key; optional budgets.
//
// The key's secret is passed in the environment (key_env), as in production; `covenantEnvironment` holds it.
export const benchKeySecret = 'sk-covenant-bench-key';
export const upstreamKeySecret = 'sk-bench-upstream';

export const covenantEnvironment = {
  BENCH_KEY: benchKeySecret,
  BENCH_UPSTREAM_KEY: upstreamKeySecret,
};

/**
 * @param {{upstreamUrl: string, storePath: string, budgets?: boolean}} options
 *   budgets: budgets at three levels (org, department, key), far above what a run can spend, so none refuses
 *   and the numbers show what enforcement costs (the budgets target).
 */
export function covenantConfig({ upstreamUrl, storePath, budgets = false }) {
  const orgBudgets = budgets ? '\n  budgets: [ { usd: 1000000, period: month } ]' : '';
  const departmentBudgets = budgets ? '\n      budgets: [ { usd: 100000, period: day }, { tokens: 100000000000, period: month } ]' : '';
  const keyBudgets = budgets ? '\n          budgets: [ { usd: 10000, period: day } ]' : '';
  return `# Written by bench/run.mjs for one benchmark scenario.
server: { host: 127.0.0.1, port: 0 }
store: sqlite:${storePath}
providers:
  - { name: upstream, type: openai, base_url: ${upstreamUrl}/v1, api_key_env: BENCH_UPSTREAM_KEY }
models:
  - alias: fast
    provider: upstream
    version: gpt-4o-mini-2024-07-18
    price: { input_per_mtok: 0.15, output_per_mtok: 0.60 }
org:
  name: bench${orgBudgets}
  departments:
    - name: load${departmentBudgets}
      keys:
        - name: load-key
          key_env: BENCH_KEY
          models: [fast]${keyBudgets}
`;
}
