// The chained sink on its own: a checkpoint after `everySeconds` even when few records came; without a
// key checkpoints are unsigned and verify says so (exit 3); a call's record carries the trace id of its
// span when tracing is on, and the ids that join it to its mint.
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ChainedAuditSink } from '../../src/audit/chained-sink.ts';
import { FileDestination } from '../../src/audit/destination.ts';
import { readRecords } from '../../src/audit/query.ts';
import { verifyAuditFiles } from '../../src/audit/verify.ts';
import { MemoryAuditSink } from '../../src/audit/audit.ts';
import { createRunner } from '../../src/runtime/runner.ts';
import { forge } from '../helpers/forge.ts';
import { makeWorkspace } from '../helpers/workspace.ts';
import { memoryTracing } from '../telemetry/helpers.ts';
import { auditKey, call, openSink, tempDir } from './trail.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
let n = 0;
const fileName = () => join(tmp.dir, `audit-${++n}.log`);

async function all(file: string) {
  const out: Array<Record<string, unknown>> = [];
  for await (const r of readRecords([file])) out.push(r);
  return out;
}

it('writes a checkpoint everySeconds after the first uncovered record', async () => {
  const file = fileName();
  const { key, jwks } = await auditKey();
  const sink = new ChainedAuditSink({
    destination: new FileDestination({ file, rotate: { maxBytes: 1 << 20 }, writer: 't' }),
    service: 'timer',
    signingKey: key,
    checkpointEveryRecords: 1000,
    checkpointEverySeconds: 0.1,
  });
  await sink.record(call(1));
  await new Promise((r) => setTimeout(r, 400));
  await sink.flush();
  const recs = await all(file);
  expect(recs.map((r) => r.kind)).toEqual(['call', 'checkpoint']);
  expect(recs[1]).toMatchObject({ covers: 1, final: false, jws: expect.any(String) });
  const open = await verifyAuditFiles([file], { jwks });
  expect(open.exitCode).toBe(3); // still running: not sealed yet
  await sink.close();
  const sealed = await verifyAuditFiles([file], { jwks });
  expect(sealed.exitCode).toBe(0);
});

it('without an audit key, checkpoints are unsigned and verify exits 3, not 0', async () => {
  const file = fileName();
  const sink = openSink(file, undefined);
  await sink.record(call(1));
  await sink.close();
  const r = await verifyAuditFiles([file]);
  expect(r.exitCode).toBe(3);
  expect(r.findings.map((f) => f.kind)).toEqual(['unsigned']);
});

it('rotates by size and the chain continues across files', async () => {
  const file = fileName();
  const { key, jwks } = await auditKey();
  const sink = openSink(file, key, { maxBytes: 4096 });
  for (let i = 0; i < 60; i++) await sink.record(call(i));
  await sink.close();
  const { auditFilesOf } = await import('../../src/audit/files.ts');
  const files = auditFilesOf(file);
  expect(files.length).toBeGreaterThan(2);
  const r = await verifyAuditFiles(files, { jwks });
  expect(r.findings).toEqual([]);
  // Leaving out the oldest rotated file is a deletion.
  expect((await verifyAuditFiles(files.slice(1), { jwks })).findings[0]!.kind).toBe('deleted');
});

const ws = await makeWorkspace();
afterAll(() => ws.cleanup());

it('a call record carries the trace id of its span, its jti and the request id', async () => {
  const tracing = memoryTracing();
  const audit = new MemoryAuditSink();
  const runner = await createRunner(ws.loaded, {
    backends: ['js'],
    audit,
    observer: tracing.observer,
  });
  try {
    const args = { text: 'trace me' };
    const claim = await forge(ws.brokerKey, {
      tool: 'text.word_count',
      args,
      scope: ['text:read'],
    });
    await runner.executor.execute({
      toolId: 'text.word_count',
      args,
      claim,
      requestId: 'req_trace',
    });
    const span = tracing.exporter.getFinishedSpans().find((s) => s.name === 'toolcage.execute')!;
    expect(audit.events[0]).toMatchObject({
      kind: 'call',
      requestId: 'req_trace',
      traceId: span.spanContext().traceId,
      jti: expect.any(String),
      invocationId: expect.stringMatching(/^inv_/),
    });
  } finally {
    await runner.close();
  }
});
