// Attack (or accident): fill the audit disk so decisions go unrecorded. The runner must refuse every
// call with audit_unavailable while no record can be written, turn unready, and recover on its own
// when space returns, with an `audit_recovered` record on the trail counting what it refused.
// Runs on a real 64 KiB tmpfs (root only; the setup runs tests as root).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ChainedAuditSink } from '../../src/audit/chained-sink.ts';
import { verifyAuditFiles } from '../../src/audit/verify.ts';
import { createRunner, type Runner } from '../../src/runtime/runner.ts';
import { toToolcageError } from '../../src/errors/toolcage-error.ts';
import { forge } from '../helpers/forge.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';
import { auditKey, openSink, tempDir, type TestKey } from '../audit/trail.ts';

let ws: Workspace;
let tmp: ReturnType<typeof tempDir>;
let mnt: string;
let key: TestKey;
let sink: ChainedAuditSink;
let runner: Runner;
let mounted = false;

beforeAll(async () => {
  tmp = tempDir();
  mnt = join(tmp.dir, 'tiny');
  mkdirSync(mnt);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]);
  mounted = true;
  key = await auditKey();
  ws = await makeWorkspace();
  sink = openSink(join(mnt, 'audit.log'), key.key, { everyRecords: 1000 });
  runner = await createRunner(ws.loaded, { backends: ['js'], audit: sink });
});

afterAll(async () => {
  await runner?.close();
  await sink?.close();
  if (mounted) execFileSync('umount', [mnt]);
  ws?.cleanup();
  tmp?.cleanup();
});

const args = (i: number) => ({ text: `hello audit ${i}` });
async function call(i: number): Promise<string> {
  const claim = await forge(ws.brokerKey, {
    tool: 'text.word_count',
    args: args(i),
    scope: ['text:read'],
  });
  try {
    await runner.executor.execute({
      toolId: 'text.word_count',
      args: args(i),
      claim,
      requestId: `req_full_${i}`,
    });
    return 'ok';
  } catch (err) {
    return toToolcageError(err).code;
  }
}

function fill(): void {
  // dd stops with ENOSPC once the tmpfs is full; that is the point.
  try {
    execFileSync('dd', ['if=/dev/zero', `of=${join(mnt, 'filler')}`, 'bs=4k', 'count=64'], {
      stdio: 'ignore',
    });
  } catch {
    /* disk full */
  }
}

it('refuses calls while the audit disk is full, is unready, and recovers when space returns', async () => {
  expect(await call(1)).toBe('ok');
  expect((await runner.executor.readiness()).ready).toBe(true);

  fill();
  // Fill the last bytes with records until the sink refuses one.
  let code = 'ok';
  for (let i = 2; i < 400 && code === 'ok'; i++) code = await call(i);
  expect(code).toBe('audit_unavailable');
  expect(await call(500)).toBe('audit_unavailable');
  const unready = await runner.executor.readiness();
  expect(unready.ready).toBe(false);
  expect(unready.audit).toMatchObject({ ready: false, detail: expect.stringContaining('ENOSPC') });

  rmSync(join(mnt, 'filler'));
  expect((await runner.executor.readiness()).ready).toBe(true);
  expect(await call(501)).toBe('ok');
  await sink.flush();

  const lines = readFileSync(join(mnt, 'audit.log'), 'utf8').trimEnd().split('\n');
  const recs = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  // A small marker can fit the last bytes of a page a record did not: several recoveries may be logged.
  const recovered = recs.filter((r) => r.kind === 'audit_recovered');
  expect(recovered[0]).toMatchObject({ level: 'error', errorCode: 'audit_unavailable' });
  expect(recovered.reduce((n, r) => n + (r.refused as number), 0)).toBeGreaterThanOrEqual(2);
  // No record of a refused-for-audit call ever reached the disk; the chain has no gap or partial line.
  expect(recs.some((r) => r.requestId === 'req_full_500')).toBe(false);
  const r = await verifyAuditFiles([join(mnt, 'audit.log')], { jwks: key.jwks });
  expect(r.findings.filter((f) => f.kind !== 'unsealed')).toEqual([]);
});

it('a closed sink refuses decisions (closed destination)', async () => {
  const closed = openSink(join(tmp.dir, 'closed.log'), key.key);
  await closed.close();
  await expect(closed.record({ kind: 'service_started', service: 'x' })).rejects.toMatchObject({
    code: 'audit_unavailable',
  });
  writeFileSync(join(tmp.dir, 'unused'), '');
});
