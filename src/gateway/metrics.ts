// Prometheus metrics (prom-client): requests, tokens, cost and latency by alias and department.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CallContext } from './context.js';

export class Metrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({ name: 'covenant_requests_total', help: 'Requests by alias, department and HTTP status', labelNames: ['alias', 'department', 'status'], registers: [this.registry] });
  private readonly tokens = new Counter({ name: 'covenant_tokens_total', help: 'Tokens by alias, department and kind (input, output, cached_input, reasoning)', labelNames: ['alias', 'department', 'kind'], registers: [this.registry] });
  private readonly cost = new Counter({ name: 'covenant_cost_usd_total', help: 'Metered cost in US dollars by alias and department', labelNames: ['alias', 'department'], registers: [this.registry] });
  private readonly latency = new Histogram({
    name: 'covenant_request_duration_seconds', help: 'Request latency through the gateway by alias and department', labelNames: ['alias', 'department'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120], registers: [this.registry],
  });
  private readonly costPerRequest = new Histogram({
    name: 'covenant_request_cost_usd', help: 'Cost of one request in US dollars by alias and department', labelNames: ['alias', 'department'],
    buckets: [0.00001, 0.0001, 0.001, 0.01, 0.1, 1, 10], registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'covenant_process_' });
  }

  observe(context: CallContext, latencyMs: number): void {
    const labels = { alias: context.model.alias, department: context.department.name };
    this.requests.inc({ ...labels, status: String(context.status) });
    this.latency.observe(labels, latencyMs / 1000);
    const usage = context.usage;
    if (usage) {
      if (usage.inputTokens) this.tokens.inc({ ...labels, kind: 'input' }, usage.inputTokens);
      if (usage.outputTokens) this.tokens.inc({ ...labels, kind: 'output' }, usage.outputTokens);
      if (usage.cachedInputTokens) this.tokens.inc({ ...labels, kind: 'cached_input' }, usage.cachedInputTokens);
      if (usage.reasoningTokens) this.tokens.inc({ ...labels, kind: 'reasoning' }, usage.reasoningTokens);
    }
    if (context.costMicros) {
      this.cost.inc(labels, context.costMicros / 1_000_000);
      this.costPerRequest.observe(labels, context.costMicros / 1_000_000);
    }
  }
}
