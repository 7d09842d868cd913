// OpenTelemetry trace export: a tracer whose finished spans wait in a bounded queue and leave over OTLP/HTTP (JSON), never in a request's way.
import { ROOT_CONTEXT, defaultTextMapGetter, defaultTextMapSetter, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { ExportResultCode, W3CTraceContextPropagator, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler,
  type ReadableSpan, type SpanExporter, type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { TelemetryConfig } from '../config/schema.js';

/** Why a finished span never reached the collector: the queue was full, or its export failed or timed out. */
export type SpanDropReason = 'queue_full' | 'export_failed';

/** The collector's traces URL: OTLP/HTTP's `/v1/traces` is added to a base address (as OTEL_EXPORTER_OTLP_ENDPOINT does). */
export function tracesUrl(endpoint: string): string {
  const trimmed = endpoint.replace(/\/+$/, '');
  return trimmed.endsWith('/v1/traces') ? trimmed : `${trimmed}/v1/traces`;
}

/**
 * Passes spans to the batch processor while fewer than `limit` wait for export, and drops (and counts) the rest:
 * the SDK's own processor drops silently, and the count belongs in /metrics. The exporter wrapper below tells it
 * when spans leave the queue.
 */
class BoundedSpanProcessor implements SpanProcessor {
  private waiting = 0;

  constructor(private readonly inner: SpanProcessor, private readonly limit: number, private readonly onDrop: (reason: SpanDropReason, count: number) => void) {}

  /** Spans the batch processor handed to the exporter: they no longer wait in the queue. */
  taken(count: number): void {
    this.waiting = Math.max(0, this.waiting - count);
  }

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    if (this.waiting >= this.limit) {
      this.onDrop('queue_full', 1);
      return;
    }
    this.waiting += 1;
    this.inner.onEnd(span);
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}

/** The OTLP exporter, counting what leaves the queue and what fails to arrive. */
class CountingExporter implements SpanExporter {
  constructor(private readonly inner: SpanExporter, private readonly taken: (count: number) => void, private readonly onDrop: (reason: SpanDropReason, count: number) => void) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.taken(spans.length);
    this.inner.export(spans, (result) => {
      if (result.code !== ExportResultCode.SUCCESS) this.onDrop('export_failed', spans.length);
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

const propagator = new W3CTraceContextPropagator();

/** One configured trace export: the tracer the telemetry stage uses, and how to stop it. */
export class Telemetry {
  readonly tracer: Tracer;
  private readonly provider: BasicTracerProvider;

  /**
   * @example new Telemetry({ otlp_endpoint: 'http://127.0.0.1:4318', service_name: 'covenant', sample_ratio: 1, max_queue_size: 2048, export_interval_ms: 5000, export_timeout_ms: 10000 }, count)
   */
  constructor(readonly settings: TelemetryConfig, onDrop: (reason: SpanDropReason, count: number) => void) {
    let bounded: BoundedSpanProcessor | undefined;
    const exporter = new CountingExporter(
      new OTLPTraceExporter({ url: tracesUrl(settings.otlp_endpoint), timeoutMillis: settings.export_timeout_ms }),
      (count) => bounded?.taken(count),
      onDrop,
    );
    const batch = new BatchSpanProcessor(exporter, {
      maxQueueSize: settings.max_queue_size,
      maxExportBatchSize: Math.min(512, settings.max_queue_size),
      exportTimeoutMillis: settings.export_timeout_ms,
      scheduledDelayMillis: settings.export_interval_ms,
    });
    bounded = new BoundedSpanProcessor(batch, settings.max_queue_size, onDrop);
    this.provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': settings.service_name }),
      sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(settings.sample_ratio) }),
      spanProcessors: [bounded],
    });
    this.tracer = this.provider.getTracer('covenant');
  }

  /** Export what is queued, waiting at most `timeoutMs` (a stopping gateway does not wait on a hung collector). */
  async shutdown(timeoutMs = 2000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
      timer.unref();
    });
    await Promise.race([this.provider.shutdown().catch(() => undefined), timeout]);
    clearTimeout(timer);
  }
}

/** The client's trace context as a parent context (the root when it sent none or an invalid one). */
export function parentContext(traceparent: string | null, tracestate: string | null): Context {
  if (traceparent === null) return ROOT_CONTEXT;
  const carrier: Record<string, string> = { traceparent };
  if (tracestate !== null) carrier.tracestate = tracestate;
  return propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
}

/** The W3C headers that make the provider's work a child of `span`. */
export function traceHeaders(span: Span): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, defaultTextMapSetter);
  return carrier;
}

/**
 * The telemetry of the config in force, rebuilt only when its settings change (a reload with the same settings keeps
 * the queue and its connection).
 */
export class TelemetryHolder {
  private current: Telemetry | undefined;

  constructor(private readonly onDrop: (reason: SpanDropReason, count: number) => void) {}

  for(settings: TelemetryConfig | null): Telemetry | undefined {
    if (settings === null) {
      this.replace(undefined);
      return undefined;
    }
    if (this.current && JSON.stringify(this.current.settings) === JSON.stringify(settings)) return this.current;
    this.replace(new Telemetry(settings, this.onDrop));
    return this.current;
  }

  async close(): Promise<void> {
    const last = this.current;
    this.current = undefined;
    await last?.shutdown();
  }

  private replace(next: Telemetry | undefined): void {
    const previous = this.current;
    this.current = next;
    // The old export sends what it holds and stops; spans of requests still running on it when it stops are not exported.
    previous?.shutdown().catch(() => undefined);
  }
}
