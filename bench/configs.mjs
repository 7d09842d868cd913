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
 * @param {{upstreamUrl: string, storePath: string, budgets?: boolean, guards?: boolean}} options
 *   budgets: budgets at three levels (org, department, key), far above what a run can spend, so none refuses
 *   and the numbers show what enforcement costs (the budgets target).
 *   guards: every runaway guard on too (rate limits on the department and the key, caps on one request, an agent
 *   policy), all far above what a run does, for the guards target (within 10% of budgets only).
 */
export function covenantConfig({ upstreamUrl, storePath, budgets = false, guards = false }) {
  const departmentGuards = guards
    ? '\n      rate_limit: { rpm: 100000000, tpm: 100000000000, concurrent: 10000 }\n      limits: { max_prompt_tokens: 100000, max_request_usd: 100 }\n      agent: { max_steps: 1000000000, max_session_usd: 1000000, max_duration: 1000d }'
    : '';
  const keyGuards = guards ? '\n          rate_limit: { rpm: 100000000, concurrent: 10000 }' : '';
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
    - name: load${departmentBudgets}${departmentGuards}
      keys:
        - name: load-key
          key_env: BENCH_KEY
          models: [fast]${keyBudgets}${keyGuards}
`;
}
