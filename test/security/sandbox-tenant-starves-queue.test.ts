// Attack: one tenant fills every JS worker with slow calls (each within its own time limit and its
// tenant's concurrency share) and keeps more waiting. Other tenants' calls used to wait behind the
// flood in one global FIFO, with the wait counted against their own run's deadline, and ended as
// *their* tool's `timeout`. Expected: the worker queue serves tenants round-robin, a victim waits
// behind at most one run per busy tenant, and waiting is never audited as the victim's `timeout`
// (too long a wait is `sandbox_unavailable` with a retry delay: the node is overloaded).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addTool, makeWorkspace, type Workspace } from '../helpers/workspace.ts';
import { requestId, startRunner, type TestRunner } from '../helpers/runner.ts';
import { forge } from '../helpers/forge.ts';
import { ToolcageError } from '../../src/errors/toolcage-error.ts';

/** Spins for `ms` of wall time, well inside its 5 s limit: a slow tool, not a broken one. */
const SLOW = `export default function run(input) { const end = Date.now() + input.ms; while (Date.now() < end); return { n: input.n }; }`;
const QUICK = `export default function run(input) { return { n: input.n }; }`;

async function setup(sandbox: string): Promise<{ ws: Workspace; t: TestRunner }> {
  const ws = await makeWorkspace({
    config: (text) => text.replace(/sandbox:\n {2}js: \{ workers: 1 \}\n/, sandbox),
  });
  addTool(ws, { id: 'test.slow', source: SLOW, limits: { timeoutMs: 5000 } });
  // The victim's own limit (1 s, + 2 s executor grace) is shorter than the backlog (4 x 2.5 s on 2
  // workers): queue time counted against it would end it as `timeout`.
  addTool(ws, { id: 'test.quick', source: QUICK, limits: { timeoutMs: 1000 } });
  await ws.relock();
  ws.reload();
  return { ws, t: await startRunner(ws) };
}

async function call(t: TestRunner, ws: Workspace, toolId: string, tenant: string, args: object) {
  const claim = await forge(ws.brokerKey, { tool: toolId, args, scope: ['test:run'], tenant });
  const startedAt = performance.now();
  try {
    const out = await t.runner.executor.execute({ toolId, args, claim, requestId: requestId() });
    return { ok: true as const, at: performance.now() - startedAt, result: out.result };
  } catch (err) {
    return { ok: false as const, at: performance.now() - startedAt, err: err as ToolcageError };
  }
}

describe('a tenant whose slow calls fill both JS workers', () => {
  let ws: Workspace;
  let t: TestRunner;
  beforeAll(async () => {
    ({ ws, t } = await setup('sandbox:\n  js: { workers: 2, maxQueueWaitMs: 20000 }\n'));
  });
  afterAll(async () => {
    await t?.close();
    ws?.cleanup();
  });

  it('cannot make another tenant wait behind its whole backlog, nor get it audited as timeout', async () => {
    const slowMs = 2500;
    const flood = [0, 1, 2, 3].map((n) => call(t, ws, 'test.slow', 'tenant-a', { n, ms: slowMs }));
    await new Promise((r) => setTimeout(r, 150)); // A's first two run, its other two wait
    const victims = [0, 1].map((n) => call(t, ws, 'test.quick', 'tenant-b', { n }));
    const [a, b] = await Promise.all([Promise.all(flood), Promise.all(victims)]);

    for (const v of b) expect(v, JSON.stringify(v)).toMatchObject({ ok: true });
    for (const f of a) expect(f.ok).toBe(true);
    // Round-robin: B's calls take the first workers A frees, before A's waiting calls run.
    const lastVictim = Math.max(...b.map((v) => v.at));
    const aBacklogDone = Math.min(
      ...a
        .map((f) => f.at)
        .sort((x, y) => y - x)
        .slice(0, 2),
    );
    expect(lastVictim).toBeLessThan(aBacklogDone);
    const victimAudit = t.audit.events.filter((e) => e.tenant === 'tenant-b');
    expect(victimAudit).toHaveLength(2);
    for (const e of victimAudit) expect(e.outcome).toBe('allowed');
  });
});

describe('a wait past sandbox.js.maxQueueWaitMs', () => {
  let ws: Workspace;
  let t: TestRunner;
  beforeAll(async () => {
    ({ ws, t } = await setup('sandbox:\n  js: { workers: 1, maxQueueWaitMs: 300 }\n'));
  });
  afterAll(async () => {
    await t?.close();
    ws?.cleanup();
  });

  it('is refused as sandbox_unavailable with a retry delay, never as the waiting tool timing out', async () => {
    const slow = call(t, ws, 'test.slow', 'tenant-a', { n: 0, ms: 1500 });
    await new Promise((r) => setTimeout(r, 150));
    const victim = await call(t, ws, 'test.quick', 'tenant-b', { n: 1 });
    expect(victim.ok).toBe(false);
    const err = (victim as { err: ToolcageError }).err;
    expect(err).toBeInstanceOf(ToolcageError);
    expect({ code: err.code, retry: err.retryAfterSeconds }).toEqual({
      code: 'sandbox_unavailable',
      retry: 1,
    });
    expect(err.message).toMatch(/JS sandbox workers are busy.*waited \d+ ms.*Retry/);
    expect(victim.at).toBeLessThan(1300); // refused at its wait limit, not after the slow run
    expect((await slow).ok).toBe(true);
    const audit = t.audit.events.find((e) => e.tenant === 'tenant-b');
    expect(audit).toMatchObject({ outcome: 'failed', errorCode: 'sandbox_unavailable' });
  });
});
