// Prometheus metrics (prom-client): requests, tokens, cost, latency and time to first token by alias, department and provider; dropped trace spans.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CallContext } from './context.js';
import type { SpanDropReason } from './telemetry.js';

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

  private readonly timeToFirstToken = new Histogram({
    name: 'covenant_time_to_first_token_seconds',
    help: 'Time from the request\'s start to its first output (streams: the first chunk with content; JSON: the whole answer) by alias and provider',
    labelNames: ['alias', 'provider'],
    buckets: [0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30], registers: [this.registry],
  });
  private readonly droppedSpans = new Counter({
    name: 'covenant_telemetry_spans_dropped_total', help: 'Trace spans not exported: queue_full (the export queue was full) or export_failed (the collector failed or timed out)',
    labelNames: ['reason'], registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'covenant_process_' });
  }

  /** How many entries each kind of per-key and per-user state holds in memory, read at each scrape. */
  readonly #stateSources = new Map<string, () => number | undefined>();
  private readonly stateEntries = new Gauge({
    name: 'covenant_state_entries', help: 'Entries of per-key and per-user state held in memory by kind (idle ones expire)', labelNames: ['kind'],
    registers: [this.registry],
    collect: () => {
      for (const [kind, read] of this.#stateSources) {
        const value = read();
        if (value !== undefined) this.stateEntries.set({ kind }, value);
      }
    },
  });

  /** Report `read()` as covenant_state_entries{kind}; undefined leaves the kind out. */
  trackState(kind: string, read: () => number | undefined): void {
    this.#stateSources.set(kind, read);
  }

  /** Labelled children by alias and department: prom-client validates labels on every call otherwise. */
  private readonly children = new Map<string, {
    latency: ReturnType<Histogram['labels']>; ttft: ReturnType<Histogram['labels']> | undefined; cost: ReturnType<Counter['labels']>; costPerRequest: ReturnType<Histogram['labels']>;
    input: ReturnType<Counter['labels']>; output: ReturnType<Counter['labels']>; cached: ReturnType<Counter['labels']>; reasoning: ReturnType<Counter['labels']>;
    statuses: Map<number, ReturnType<Counter['labels']>>;
  }>();

  private childrenFor(alias: string, department: string, provider: string) {
    const id = `${alias}\u0000${department}\u0000${provider}`;
    let found = this.children.get(id);
    if (!found) {
      found = {
        latency: this.latency.labels(alias, department),
        ttft: undefined,
        cost: this.cost.labels(alias, department),
        costPerRequest: this.costPerRequest.labels(alias, department),
        input: this.tokens.labels(alias, department, 'input'),
        output: this.tokens.labels(alias, department, 'output'),
        cached: this.tokens.labels(alias, department, 'cached_input'),
        reasoning: this.tokens.labels(alias, department, 'reasoning'),
        statuses: new Map(),
      };
      this.children.set(id, found);
    }
    return found;
  }

  /** Spans the trace export could not deliver (it never waits for the collector: it drops and counts). */
  spansDropped(reason: SpanDropReason, count: number): void {
    this.droppedSpans.labels(reason).inc(count);
  }

  observe(context: CallContext, latencyMs: number): void {
    const children = this.childrenFor(context.model.alias, context.department.name, context.provider.name);
    let requests = children.statuses.get(context.status);
    if (!requests) {
      requests = this.requests.labels(context.model.alias, context.department.name, String(context.status));
      children.statuses.set(context.status, requests);
    }
    requests.inc();
    children.latency.observe(latencyMs / 1000);
    if (context.ttftMs !== null) {
      children.ttft ??= this.timeToFirstToken.labels(context.model.alias, context.provider.name);
      children.ttft.observe(context.ttftMs / 1000);
    }
    const usage = context.usage;
    if (usage) {
      if (usage.inputTokens) children.input.inc(usage.inputTokens);
      if (usage.outputTokens) children.output.inc(usage.outputTokens);
      if (usage.cachedInputTokens) children.cached.inc(usage.cachedInputTokens);
      if (usage.reasoningTokens) children.reasoning.inc(usage.reasoningTokens);
    }
    if (context.costMicros) {
      children.cost.inc(context.costMicros / 1_000_000);
      children.costPerRequest.observe(context.costMicros / 1_000_000);
    }
  }
}
