// Spans from a real runner (isolated-vm, SQLite, verified registry) through the real OpenTelemetry SDK:
// one parent per call with the stages as children in pipeline order, refusals carrying their code,
// and nothing of the call's payload (arguments, claim, output) anywhere in a span.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { MemoryAuditSink } from '../../src/audit/audit.ts';
import { STAGES } from '../../src/executor/observer.ts';
import { combineObservers, RunnerMetrics } from '../../src/metrics/runner-metrics.ts';
import { createRunner, type Runner } from '../../src/runtime/runner.ts';
import { SPAN_ATTRIBUTES, stageSpanName } from '../../src/telemetry/tracing-observer.ts';
import { flipSignatureByte, forge } from '../helpers/forge.ts';
import { expectRefusal } from '../helpers/runner.ts';
import { addTool, makeWorkspace, type Workspace } from '../helpers/workspace.ts';
import { callSpans, memoryTracing, ms } from './helpers.ts';

const TOOL = 'test.trace_echo';
const RUN_MS = 40;
const SECRET_ARG = 'ARG-SECRET-7f3a9c';
/** What the tool returns: the argument reversed, so the output is a string of its own. */
const OUTPUT = [...SECRET_ARG].reverse().join('');

const tracing = memoryTracing();
let ws: Workspace;
let runner: Runner;

beforeAll(async () => {
  ws = await makeWorkspace();
  addTool(ws, {
    id: TOOL,
    source:
      'export default function run(input) { const end = Date.now() + input.ms; while (Date.now() < end) {} return { reversed: [...input.secret].reverse().join("") }; }\n',
    inputSchema: {
      type: 'object',
      properties: { secret: { type: 'string' }, ms: { type: 'integer' } },
      required: ['secret', 'ms'],
      additionalProperties: false,
    },
    outputSchema: {
      type: 'object',
      properties: { reversed: { type: 'string' } },
      required: ['reversed'],
      additionalProperties: false,
    },
  });
  await ws.relock();
  ws.reload();
  // Metrics and tracing side by side, as `toolcage serve` wires them.
  runner = await createRunner(ws.loaded, {
    backends: ['js'],
    audit: new MemoryAuditSink(),
    observer: combineObservers(
      new RunnerMetrics({ defaultMetrics: false }).observer,
      tracing.observer,
    ),
  });
  const js = runner.backends.js!;
  for (let i = 0; i < 500 && !(await js.health()).usable; i++)
    await new Promise((r) => setTimeout(r, 20));
});

afterAll(async () => {
  await runner?.close();
  await tracing.provider.shutdown();
  ws?.cleanup();
});

const args = { secret: SECRET_ARG, ms: RUN_MS };
const claims: string[] = [];

async function call(requestId: string, tamper = false): Promise<unknown> {
  const valid = await forge(ws.brokerKey, { tool: TOOL, args, scope: ['test:run'] });
  const claim = tamper ? flipSignatureByte(valid) : valid;
  claims.push(claim);
  return runner.executor.execute({ toolId: TOOL, args, claim, requestId });
}

const spans = (): ReadableSpan[] => tracing.exporter.getFinishedSpans();

it('an allowed call is one toolcage.execute span with every stage as a child, in pipeline order, inside the parent', async () => {
  const out = await call('req_trace_ok');
  expect(out).toMatchObject({ result: { reversed: OUTPUT } });

  const { parent, children } = callSpans(spans(), 'req_trace_ok');
  expect(parent.parentSpanContext).toBeUndefined();
  expect(parent.attributes).toEqual({
    [SPAN_ATTRIBUTES.toolId]: TOOL,
    [SPAN_ATTRIBUTES.requestId]: 'req_trace_ok',
    [SPAN_ATTRIBUTES.outcome]: 'allowed',
    [SPAN_ATTRIBUTES.genAiOperation]: 'execute_tool',
    [SPAN_ATTRIBUTES.genAiToolName]: TOOL,
  });
  expect(parent.status.code).toBe(SpanStatusCode.UNSET);

  expect(children.map((s) => s.name)).toEqual(STAGES.map(stageSpanName));
  for (const child of children) {
    expect(child.spanContext().traceId).toBe(parent.spanContext().traceId);
    expect(child.attributes).toEqual({
      [SPAN_ATTRIBUTES.stage]: child.name.replace('toolcage.stage.', ''),
      [SPAN_ATTRIBUTES.toolId]: TOOL,
    });
    expect(ms(child.startTime)).toBeLessThanOrEqual(ms(child.endTime));
    // Every stage lies within the call (1 ms of slack: the queue wait is measured on the millisecond clock).
    expect(ms(child.startTime)).toBeGreaterThanOrEqual(ms(parent.startTime) - 1);
    expect(ms(child.endTime)).toBeLessThanOrEqual(ms(parent.endTime));
  }
  // Stages end in order.
  const ends = children.map((s) => ms(s.endTime));
  expect([...ends].sort((a, b) => a - b)).toEqual(ends);
  // The run span covers the tool's busy-wait; the parent covers the run.
  const run = children.find((s) => s.name === 'toolcage.stage.run')!;
  expect(ms(run.endTime) - ms(run.startTime)).toBeGreaterThanOrEqual(RUN_MS - 1);
  expect(ms(parent.endTime) - ms(parent.startTime)).toBeGreaterThanOrEqual(
    ms(run.endTime) - ms(run.startTime),
  );
});

it('a call with a tampered claim is a refused parent span with the error code and the stage that refused it', async () => {
  await expectRefusal(
    call('req_trace_bad_claim', true),
    'claim_signature_invalid',
    /does not verify/,
  );

  const { parent, children } = callSpans(spans(), 'req_trace_bad_claim');
  expect(parent.attributes).toEqual({
    [SPAN_ATTRIBUTES.toolId]: TOOL,
    [SPAN_ATTRIBUTES.requestId]: 'req_trace_bad_claim',
    [SPAN_ATTRIBUTES.outcome]: 'refused',
    [SPAN_ATTRIBUTES.errorCode]: 'claim_signature_invalid',
    [SPAN_ATTRIBUTES.errorType]: 'claim_signature_invalid',
    [SPAN_ATTRIBUTES.genAiOperation]: 'execute_tool',
    [SPAN_ATTRIBUTES.genAiToolName]: TOOL,
    [SPAN_ATTRIBUTES.stage]: 'verify',
  });
  // A refusal is the pipeline doing its job, not a fault of the runner.
  expect(parent.status.code).toBe(SpanStatusCode.UNSET);
  expect(children.map((s) => s.name)).toEqual(['toolcage.stage.resolve', 'toolcage.stage.verify']);
});

it('an unknown tool is refused at resolve, and its span keeps the id only as received, bounded', async () => {
  const longId = `nope.${'x'.repeat(500)}`;
  await expectRefusal(
    runner.executor.execute({
      toolId: longId,
      args,
      claim: undefined,
      requestId: 'req_trace_unknown',
    }),
    'tool_not_allowed',
    /not in the registry allowlist/,
  );
  const { parent, children } = callSpans(spans(), 'req_trace_unknown');
  expect(parent.attributes).toMatchObject({
    [SPAN_ATTRIBUTES.outcome]: 'refused',
    [SPAN_ATTRIBUTES.errorCode]: 'tool_not_allowed',
    [SPAN_ATTRIBUTES.stage]: 'resolve',
  });
  expect(String(parent.attributes[SPAN_ATTRIBUTES.toolId])).toHaveLength(200);
  expect(children.map((s) => s.name)).toEqual(['toolcage.stage.resolve']);
});

it("continues the caller's trace from a W3C traceparent, with the GenAI/MCP semantic-convention attributes", async () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const parentSpanId = '00f067aa0ba902b7';
  const claim = await forge(ws.brokerKey, { tool: TOOL, args, scope: ['test:run'] });
  claims.push(claim);
  await runner.executor.execute({
    toolId: TOOL,
    args,
    claim,
    requestId: 'req_traced',
    traceparent: `00-${traceId}-${parentSpanId}-01`,
    mcpMethod: 'tools/call',
  });
  const parent = spans().find((s) => s.attributes[SPAN_ATTRIBUTES.requestId] === 'req_traced')!;
  expect(parent.spanContext().traceId).toBe(traceId);
  expect(parent.parentSpanContext?.spanId).toBe(parentSpanId);
  expect(parent.attributes).toMatchObject({
    'gen_ai.operation.name': 'execute_tool',
    'gen_ai.tool.name': TOOL,
    'mcp.method.name': 'tools/call',
  });
});

it('ignores a malformed traceparent: the call starts a trace of its own', async () => {
  const claim = await forge(ws.brokerKey, { tool: TOOL, args, scope: ['test:run'] });
  claims.push(claim);
  const bad = `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`;
  await runner.executor.execute({
    toolId: TOOL,
    args,
    claim,
    requestId: 'req_badtrace',
    traceparent: bad,
  });
  const parent = spans().find((s) => s.attributes[SPAN_ATTRIBUTES.requestId] === 'req_badtrace')!;
  expect(parent.spanContext().traceId).not.toBe('0'.repeat(32));
  expect(parent.parentSpanContext).toBeUndefined();
});

it('no span carries the arguments, the claim or the output: only the named attributes, no events, no links', async () => {
  expect(claims.length).toBeGreaterThanOrEqual(2);
  const all = spans();
  expect(all.length).toBeGreaterThan(STAGES.length);
  const allowedKeys = new Set<string>(Object.values(SPAN_ATTRIBUTES));
  const forbidden = [
    SECRET_ARG,
    OUTPUT,
    JSON.stringify(args),
    ...claims,
    ...claims.flatMap((c) => c.split('.')),
  ];
  for (const span of all) {
    expect(Object.keys(span.attributes).filter((k) => !allowedKeys.has(k))).toEqual([]);
    expect(span.events).toEqual([]);
    expect(span.links).toEqual([]);
    const text = JSON.stringify({
      name: span.name,
      attributes: span.attributes,
      events: span.events,
      status: span.status,
      resource: span.resource.attributes,
    });
    for (const f of forbidden) expect(text).not.toContain(f);
  }
});
