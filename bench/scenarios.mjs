// The load benchmark's scenarios: what is measured, against which server, and which baselines its ratios use.
//
// target: 'upstream' (direct), 'minimal' (bench/minimal-proxy.mjs) or 'covenant' (bin/covenant serve with `config`).
// direct / minimal: the scenarios whose numbers this one's added latency and throughput ratio are computed against.
// To measure a new gateway feature (the ledger, guards…), add a config option in configs.mjs and a row here.
export const scenarios = [
  { name: 'direct', label: '(a) direct to upstream', target: 'upstream', stream: false, direct: 'direct', minimal: 'minimal' },
  { name: 'minimal', label: '(b) minimal proxy', target: 'minimal', stream: false, direct: 'direct', minimal: 'minimal' },
  { name: 'covenant', label: '(c) Covenant', target: 'covenant', config: {}, stream: false, direct: 'direct', minimal: 'minimal' },
  { name: 'covenant-no-ledger', label: '(c0) Covenant without the ledger stage', target: 'covenant', config: {}, withoutLedger: true, stream: false, direct: 'direct', minimal: 'minimal' },
  { name: 'covenant-budgets', label: '(d) Covenant, budgets at 3 levels', target: 'covenant', config: { budgets: true }, stream: false, direct: 'direct', minimal: 'minimal' },
  { name: 'direct-stream', label: '(a) direct, streaming', target: 'upstream', stream: true, direct: 'direct-stream', minimal: 'minimal-stream' },
  { name: 'minimal-stream', label: '(b) minimal proxy, streaming', target: 'minimal', stream: true, direct: 'direct-stream', minimal: 'minimal-stream' },
  { name: 'covenant-stream', label: '(e) Covenant, streaming', target: 'covenant', config: {}, stream: true, direct: 'direct-stream', minimal: 'minimal-stream' },
];

/** The request every scenario sends: a small chat completion (`model` is Covenant's alias, or the upstream id). */
export function requestBody({ model, stream }) {
  return JSON.stringify({
    model,
    messages: [
      { role: 'system', content: 'You are a concise assistant.' },
      { role: 'user', content: 'Say hello to the benchmark in a few words.' },
    ],
    max_tokens: 64,
    ...(stream ? { stream: true } : {}),
  });
}
