import { isSpanContextValid, trace } from '@opentelemetry/api';

const audited = new WeakSet<object>();

/** Marks an error whose refusal is already on the trail, so an outer edge does not record it twice. */
export function markAudited<T>(err: T): T {
  if (typeof err === 'object' && err !== null) audited.add(err);
  return err;
}

export function isAudited(err: unknown): boolean {
  return typeof err === 'object' && err !== null && audited.has(err);
}

/** The trace id of the active span, when tracing is on and the span is real. */
export function activeTraceId(): string | undefined {
  const ctx = trace.getActiveSpan()?.spanContext();
  return ctx && isSpanContextValid(ctx) ? ctx.traceId : undefined;
}
