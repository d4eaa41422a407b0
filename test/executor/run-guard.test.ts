// The executor's own deadline around a backend that never ends a run (a hung engine): the call
// still ends, as `timeout`, timeoutMs + runGraceMs after the run started. Time spent waiting for
// a sandbox before the start (a queueing backend) is not the run's. The guard is one timer per
// call that re-arms itself when it fires early, so these hold the timing it must keep.
import { expect, it } from 'vitest';
import { runInSandbox } from '../../src/executor/sandbox-run.ts';
import type { Trail } from '../../src/executor/trail.ts';
import type { RunRequest, RunResult, SandboxBackend } from '../../src/ports/sandbox.ts';
import type { LoadedTool } from '../../src/ports/tool.ts';
import type { ToolcageError } from '../../src/errors/toolcage-error.ts';

const tool = {
  manifest: { id: 'hung.tool', runtime: 'js', limits: { timeoutMs: 100, memoryMb: 16 } },
  sandbox: {},
} as unknown as LoadedTool;

/** A backend that starts the run after `startAfterMs` (if it signals starts) and then never ends it, except on abort. */
function hungBackend(signalsStart: boolean, startAfterMs: number): SandboxBackend {
  return {
    kind: 'js',
    signalsStart,
    run: (request: RunRequest, signal?: AbortSignal) =>
      new Promise<RunResult>((resolve) => {
        if (signalsStart) setTimeout(() => request.onStart?.(), startAfterMs);
        signal?.addEventListener('abort', () =>
          resolve({ ok: false, code: 'sandbox_failed', message: 'aborted', durationMs: 0 }),
        );
      }),
    health: async () => ({ usable: true, detail: 'hung' }),
    dispose: async () => {},
  } as SandboxBackend;
}

async function timeRun(backend: SandboxBackend): Promise<{ ms: number; code: string }> {
  const trail: Trail = { started: Date.now(), invocationId: 'inv_1', ref: {} as Trail['ref'] };
  const t0 = performance.now();
  const err = await runInSandbox(
    { backends: { js: backend }, runGraceMs: 100 },
    { toolId: 'hung.tool', args: {}, requestId: 'r1', claim: undefined },
    tool,
    undefined,
    trail,
  ).then(
    () => undefined,
    (e: ToolcageError) => e,
  );
  return { ms: performance.now() - t0, code: err?.code ?? 'resolved' };
}

it('a backend that never ends a run: timeout at timeoutMs + runGraceMs', async () => {
  const { ms, code } = await timeRun(hungBackend(false, 0));
  expect(code).toBe('timeout');
  expect(ms).toBeGreaterThanOrEqual(195);
  expect(ms).toBeLessThan(200 + 400);
});

it('a queueing backend that starts the run late: the deadline counts from the start, not the queue', async () => {
  const { ms, code } = await timeRun(hungBackend(true, 150));
  expect(code).toBe('timeout');
  // Started at ~150 ms: the guard ends it at ~150 + 200, not at 200 from the queue.
  expect(ms).toBeGreaterThanOrEqual(340);
  expect(ms).toBeLessThan(350 + 400);
});
