import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';
import type { TracingConfig } from './config.ts';
import { TracingObserver } from './tracing-observer.ts';

export interface Tracing {
  observer: TracingObserver;
  provider: TracerProvider;
  /** Exports what is buffered and stops; never waits longer than `deadlineMs` (a dead collector cannot stall shutdown). */
  shutdown(deadlineMs?: number): Promise<void>;
}

/**
 * The runner's tracing from `telemetry.tracing`: undefined when it is off (the
 * default). On: a private tracer provider (never registered globally, so the
 * host application's own OpenTelemetry setup is untouched) with a
 * BatchSpanProcessor and an OTLP/HTTP exporter, and the observer that feeds it.
 * `processor` replaces the OTLP pipeline (tests hand in an in-memory exporter).
 */
export function startTracing(
  config: TracingConfig,
  options: { processor?: SpanProcessor } = {},
): Tracing | undefined {
  if (!config.enabled) return undefined;
  const root =
    config.sampleRatio === undefined || config.sampleRatio === 1
      ? new AlwaysOnSampler()
      : new TraceIdRatioBasedSampler(config.sampleRatio);
  const processor =
    options.processor ??
    new BatchSpanProcessor({
      exporter: new OTLPTraceExporter(config.otlpEndpoint ? { url: config.otlpEndpoint } : {}),
    });
  const provider = new TracerProvider({
    resource: defaultResource().merge(
      resourceFromAttributes({ 'service.name': config.serviceName }),
    ),
    sampler: new ParentBasedSampler({ root }),
    spanProcessors: [processor],
  });
  const observer = new TracingObserver({ tracer: provider.getTracer('toolcage') });
  let stopped: Promise<void> | undefined;
  return {
    observer,
    provider,
    shutdown(deadlineMs = 5_000) {
      stopped ??= new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadlineMs);
        timer.unref();
        provider
          .shutdown()
          .catch(() => undefined)
          .finally(() => {
            clearTimeout(timer);
            resolve();
          });
      });
      return stopped;
    },
  };
}
