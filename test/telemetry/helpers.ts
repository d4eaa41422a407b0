import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace';
import { TracingObserver } from '../../src/telemetry/tracing-observer.ts';

/** The real SDK, exporting each span as it ends into memory (so export order is end order). */
export function memoryTracing(options: { maxOpenCalls?: number } = {}): {
  exporter: InMemorySpanExporter;
  provider: TracerProvider;
  observer: TracingObserver;
} {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const observer = new TracingObserver({ tracer: provider.getTracer('toolcage-test'), ...options });
  return { exporter, provider, observer };
}

/** Milliseconds since the epoch of an HrTime. */
export const ms = (t: ReadableSpan['startTime']): number => t[0] * 1000 + t[1] / 1e6;

/** The parent span of one call and its stage children, in the order they ended. */
export function callSpans(
  spans: ReadableSpan[],
  requestId: string,
): { parent: ReadableSpan; children: ReadableSpan[] } {
  const parents = spans.filter(
    (s) => s.name === 'toolcage.execute' && s.attributes['toolcage.request.id'] === requestId,
  );
  if (parents.length !== 1)
    throw new Error(`expected one toolcage.execute span for ${requestId}, got ${parents.length}`);
  const parent = parents[0]!;
  const id = parent.spanContext().spanId;
  return { parent, children: spans.filter((s) => s.parentSpanContext?.spanId === id) };
}
