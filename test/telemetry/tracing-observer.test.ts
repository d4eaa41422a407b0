// The tracing observer on its own, against the real SDK: bounded memory for calls that never report
// an outcome, failures marked as span errors, hooks that never throw, and constructor misuse.
import { afterEach, expect, it } from 'vitest';
import { SpanStatusCode } from '@opentelemetry/api';
import { SPAN_ATTRIBUTES, TracingObserver } from '../../src/telemetry/tracing-observer.ts';
import { callSpans, memoryTracing } from './helpers.ts';

const ref = (n: number) => ({ requestId: `req_${n}`, invocationId: `inv_${n}` });
let t = memoryTracing({ maxOpenCalls: 3 });
afterEach(async () => {
  await t.provider.shutdown();
  t = memoryTracing({ maxOpenCalls: 3 });
});

it('caps the open calls: calls that never report an outcome are ended as abandoned, oldest first, and forgotten', () => {
  for (let i = 1; i <= 5; i++) t.observer.begin(ref(i), 'text.word_count');
  expect(t.observer.openCalls).toBe(3);
  const ended = t.exporter.getFinishedSpans();
  expect(ended.map((s) => s.attributes[SPAN_ATTRIBUTES.requestId])).toEqual(['req_1', 'req_2']);
  expect(ended.map((s) => s.attributes[SPAN_ATTRIBUTES.outcome])).toEqual([
    'abandoned',
    'abandoned',
  ]);
  // A late stage or outcome for an evicted call is dropped, not re-opened.
  t.observer.stage('run', 'text.word_count', 5, ref(1));
  t.observer.outcome('text.word_count', 'allowed', undefined, 5, ref(1));
  expect(t.exporter.getFinishedSpans()).toHaveLength(2);
  for (let i = 3; i <= 5; i++)
    t.observer.outcome('text.word_count', 'allowed', undefined, 1, ref(i));
  expect(t.observer.openCalls).toBe(0);
  expect(t.exporter.getFinishedSpans()).toHaveLength(5);
});

it('keeps concurrent calls with the same (caller-chosen) request id apart', () => {
  const a = { requestId: 'same', invocationId: 'inv_a' };
  const b = { requestId: 'same', invocationId: 'inv_b' };
  t.observer.begin(a, 't.a');
  t.observer.begin(b, 't.b');
  t.observer.stage('resolve', 't.b', 1, b);
  t.observer.stage('resolve', 't.a', 1, a);
  t.observer.stage('verify', 't.a', 1, a);
  t.observer.outcome('t.a', 'allowed', undefined, 3, a);
  t.observer.outcome('t.b', 'refused', 'claim_missing', 3, b);
  const spans = t.exporter.getFinishedSpans();
  const parentOf = (tool: string) =>
    spans.find(
      (s) => s.name === 'toolcage.execute' && s.attributes[SPAN_ATTRIBUTES.toolId] === tool,
    )!;
  const childrenOf = (tool: string) =>
    spans
      .filter((s) => s.parentSpanContext?.spanId === parentOf(tool).spanContext().spanId)
      .map((s) => s.name);
  expect(childrenOf('t.a')).toEqual(['toolcage.stage.resolve', 'toolcage.stage.verify']);
  expect(childrenOf('t.b')).toEqual(['toolcage.stage.resolve']);
});

it('a failed call (a fault of the runner) sets the span status to ERROR with the code only', () => {
  t.observer.begin(ref(9), 'test.spin');
  t.observer.stage('run', 'test.spin', 200, ref(9));
  t.observer.outcome('test.spin', 'failed', 'timeout', 201, ref(9));
  const { parent } = callSpans(t.exporter.getFinishedSpans(), 'req_9');
  expect(parent.status).toEqual({ code: SpanStatusCode.ERROR, message: 'timeout' });
  expect(parent.attributes).toMatchObject({
    [SPAN_ATTRIBUTES.outcome]: 'failed',
    [SPAN_ATTRIBUTES.errorCode]: 'timeout',
    [SPAN_ATTRIBUTES.stage]: 'run',
  });
});

it('hooks without a call reference, or after the provider shut down, do nothing and never throw', async () => {
  expect(() => t.observer.stage('run', 'x', 1)).not.toThrow();
  expect(() => t.observer.outcome('x', 'allowed', undefined, 1)).not.toThrow();
  await t.provider.shutdown();
  expect(() => {
    t.observer.begin(ref(1), 'x');
    t.observer.stage('resolve', 'x', 1, ref(1));
    t.observer.outcome('x', 'allowed', undefined, 1, ref(1));
  }).not.toThrow();
});

it('refuses a missing tracer or a non-positive cap at construction with "Expected ..., got ..."', () => {
  expect(() => new TracingObserver({} as never)).toThrow(
    new TypeError('Expected options.tracer to be an OpenTelemetry Tracer, got undefined'),
  );
  expect(() => new TracingObserver({ tracer: t.provider.getTracer('x'), maxOpenCalls: 0 })).toThrow(
    new TypeError('Expected options.maxOpenCalls to be a positive integer, got 0'),
  );
});
