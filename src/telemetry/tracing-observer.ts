import {
  context,
  ROOT_CONTEXT,
  isSpanContextValid,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import type { CallRef, ExecutorObserver, Stage } from '../ports/observer.ts';

/**
 * The only attributes toolcage puts on spans. Nothing else is ever recorded:
 * no arguments, claims, outputs, credentials or error messages (a tool's
 * failure message can echo its input), only the contract's error code.
 */
export const SPAN_ATTRIBUTES = {
  toolId: 'toolcage.tool.id',
  requestId: 'toolcage.request.id',
  stage: 'toolcage.stage',
  outcome: 'toolcage.outcome',
  errorCode: 'toolcage.error.code',
  // OpenTelemetry semantic conventions for GenAI tool execution and MCP.
  genAiOperation: 'gen_ai.operation.name',
  genAiToolName: 'gen_ai.tool.name',
  mcpMethod: 'mcp.method.name',
  errorType: 'error.type',
} as const;

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * The caller's context from a W3C `traceparent` (version 00), or undefined for
 * a missing or malformed one (all-zero ids are invalid): the call then starts
 * its own trace. Only ids and the sampled flag are read, never `tracestate`.
 */
export function remoteParent(traceparent: string | undefined): Context | undefined {
  const m = traceparent === undefined ? null : TRACEPARENT.exec(traceparent.trim());
  if (!m || /^0+$/.test(m[1]!) || /^0+$/.test(m[2]!)) return undefined;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: m[1]!,
    spanId: m[2]!,
    traceFlags: parseInt(m[3]!, 16) & 1,
    isRemote: true,
  });
}

export const EXECUTE_SPAN = 'toolcage.execute';
export const stageSpanName = (stage: Stage): string => `toolcage.stage.${stage}`;

export interface TracingObserverOptions {
  tracer: Tracer;
  /**
   * Calls with an open parent span at once. Past it, the oldest is ended with
   * outcome `abandoned` and forgotten, so a call that never reports an outcome
   * cannot grow memory without bound. Default 10,000.
   */
  maxOpenCalls?: number;
}

interface OpenCall {
  span: Span;
  ctx: Context;
  /** Wall-clock ms minus `performance.now()`, taken once per call so that its spans nest exactly. */
  offset: number;
  lastStage?: Stage;
}

/** Tool ids and request ids may be caller-chosen before the tool resolves: bound what a span keeps. */
const MAX_ID_LENGTH = 200;
const bounded = (v: unknown): string => String(v).slice(0, MAX_ID_LENGTH);

/**
 * An `ExecutorObserver` that turns each call into a parent span
 * `toolcage.execute` with one child `toolcage.stage.<name>` per pipeline stage,
 * timed from the durations the executor reports (a stage is reported when it
 * ends, so it starts `ms` before that). The parent ends on `outcome`; a refused
 * call keeps its error code and the last stage reported before the refusal;
 * only `failed` (a server-side fault) sets the span status to ERROR.
 *
 * The hooks never throw: tracing must not change what a call does.
 *
 * @example
 * ```ts
 * const observer = combineObservers(metrics.observer, new TracingObserver({ tracer: provider.getTracer('toolcage') }));
 * const runner = await createRunner(loaded, { observer });
 * ```
 */
export class TracingObserver implements ExecutorObserver {
  readonly #tracer: Tracer;
  readonly #max: number;
  /** Keyed by the executor's invocation id (unique, never caller-chosen); insertion order is age order. */
  readonly #open = new Map<string, OpenCall>();

  constructor(options: TracingObserverOptions) {
    if (typeof options?.tracer?.startSpan !== 'function')
      throw new TypeError(
        `Expected options.tracer to be an OpenTelemetry Tracer, got ${typeof options?.tracer}`,
      );
    const max = options.maxOpenCalls ?? 10_000;
    if (!Number.isInteger(max) || max < 1)
      throw new TypeError(
        `Expected options.maxOpenCalls to be a positive integer, got ${String(max)}`,
      );
    this.#tracer = options.tracer;
    this.#max = max;
  }

  /** Calls whose parent span is still open (bounded by `maxOpenCalls`). */
  get openCalls(): number {
    return this.#open.size;
  }

  traceId(call: CallRef): string | undefined {
    const ctx = this.#open.get(call.invocationId)?.span.spanContext();
    return ctx && isSpanContextValid(ctx) ? ctx.traceId : undefined;
  }

  begin(call: CallRef, toolId: string): void {
    try {
      if (this.#open.has(call.invocationId)) return;
      while (this.#open.size >= this.#max) this.#abandonOldest();
      const offset = Date.now() - performance.now();
      const parent = remoteParent(call.traceparent) ?? context.active();
      const span = this.#tracer.startSpan(
        EXECUTE_SPAN,
        {
          kind: SpanKind.INTERNAL,
          startTime: performance.now() + offset,
          attributes: {
            [SPAN_ATTRIBUTES.toolId]: bounded(toolId),
            [SPAN_ATTRIBUTES.requestId]: bounded(call.requestId),
            [SPAN_ATTRIBUTES.genAiOperation]: 'execute_tool',
            [SPAN_ATTRIBUTES.genAiToolName]: bounded(toolId),
            ...(call.mcpMethod ? { [SPAN_ATTRIBUTES.mcpMethod]: bounded(call.mcpMethod) } : {}),
          },
        },
        parent,
      );
      this.#open.set(call.invocationId, { span, ctx: trace.setSpan(parent, span), offset });
    } catch {
      // Tracing never breaks a call.
    }
  }

  stage(stage: Stage, toolId: string, ms: number, call?: CallRef): void {
    try {
      const open = call && this.#open.get(call.invocationId);
      if (!open) return;
      open.lastStage = stage;
      if (!open.span.isRecording()) return; // not sampled: no children either
      const end = performance.now() + open.offset;
      const child = this.#tracer.startSpan(
        stageSpanName(stage),
        {
          kind: SpanKind.INTERNAL,
          startTime: end - Math.max(0, ms),
          attributes: { [SPAN_ATTRIBUTES.stage]: stage, [SPAN_ATTRIBUTES.toolId]: bounded(toolId) },
        },
        open.ctx,
      );
      child.end(end);
    } catch {
      // Tracing never breaks a call.
    }
  }

  outcome(
    toolId: string,
    outcome: 'allowed' | 'refused' | 'failed',
    code: string | undefined,
    _ms: number,
    call?: CallRef,
  ): void {
    try {
      const open = call && this.#open.get(call.invocationId);
      if (!open) return;
      this.#open.delete(call.invocationId);
      const { span } = open;
      span.setAttribute(SPAN_ATTRIBUTES.toolId, bounded(toolId));
      span.setAttribute(SPAN_ATTRIBUTES.outcome, outcome);
      span.setAttribute(SPAN_ATTRIBUTES.genAiToolName, bounded(toolId));
      if (code !== undefined) {
        span.setAttribute(SPAN_ATTRIBUTES.errorCode, bounded(code));
        span.setAttribute(SPAN_ATTRIBUTES.errorType, bounded(code));
      }
      if (outcome !== 'allowed' && open.lastStage)
        span.setAttribute(SPAN_ATTRIBUTES.stage, open.lastStage);
      // A refusal is the pipeline working (a client fault); only our own failures are span errors.
      if (outcome === 'failed')
        span.setStatus({
          code: SpanStatusCode.ERROR,
          ...(code !== undefined ? { message: bounded(code) } : {}),
        });
      span.end(performance.now() + open.offset);
    } catch {
      // Tracing never breaks a call.
    }
  }

  #abandonOldest(): void {
    const first = this.#open.entries().next();
    if (first.done) return;
    const [id, open] = first.value;
    this.#open.delete(id);
    open.span.setAttribute(SPAN_ATTRIBUTES.outcome, 'abandoned');
    open.span.end(performance.now() + open.offset);
  }
}
