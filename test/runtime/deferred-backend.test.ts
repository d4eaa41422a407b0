// A sandbox backend made in the background (DeferredBackend): readiness stays false while it
// starts, even with the other backend usable; a run that arrives meanwhile waits for it (its
// deadline starting only then) or, if it cannot be made, gets sandbox_unavailable with a retry
// delay; disposing waits for it so nothing it made is left behind.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DeferredBackend } from '../../src/runtime/deferred-backend.ts';
import { ToolcageError } from '../../src/errors/toolcage-error.ts';
import type { RunRequest, RunResult, SandboxBackend } from '../../src/ports/sandbox.ts';
import { startRunner, type TestRunner } from '../helpers/runner.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';

/** An in-memory twin of a backend: records runs and its disposal. */
function twin(): SandboxBackend & { runs: string[]; disposed: boolean } {
  const t = {
    kind: 'docker' as const,
    runs: [] as string[],
    disposed: false,
    async run(request: RunRequest): Promise<RunResult> {
      t.runs.push(request.invocationId);
      return { ok: true, output: { ran: true }, durationMs: 1 } as unknown as RunResult;
    },
    async health() {
      return { usable: true, detail: 'twin' };
    },
    async dispose() {
      t.disposed = true;
    },
  };
  return t;
}

function gate<T>(): { promise: Promise<T>; open(v: T): void; fail(e: Error): void } {
  let open!: (v: T) => void;
  let fail!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => ((open = res), (fail = rej)));
  return { promise, open, fail };
}

const request = (id: string, onStart?: () => void): RunRequest =>
  ({
    invocationId: id,
    tool: {},
    input: {},
    credentials: [],
    ...(onStart ? { onStart } : {}),
  }) as unknown as RunRequest;

let ws: Workspace;
let t: TestRunner;
beforeAll(async () => {
  ws = await makeWorkspace();
  t = await startRunner(ws); // the JS backend is usable once this resolves
}, 60_000);
afterAll(async () => {
  await t?.close();
  ws?.cleanup();
});

it('keeps readiness false while a backend starts, though the JS backend is usable, and true once it is made', async () => {
  const made = gate<SandboxBackend>();
  const deferred = new DeferredBackend({ kind: 'docker', make: () => made.promise });
  t.runner.backends.docker = deferred;
  try {
    const before = await t.runner.executor.readiness();
    expect(before.backends.js?.usable).toBe(true);
    expect(before.backends.docker).toMatchObject({ usable: false, detail: 'starting' });
    expect(before.ready).toBe(false);
    made.open(twin());
    await deferred.settled();
    expect((await t.runner.executor.readiness()).ready).toBe(true);
  } finally {
    delete t.runner.backends.docker;
  }
});

it('runs a call that arrived while starting once the backend is made, starting its deadline only then', async () => {
  const made = gate<SandboxBackend>();
  const inner = twin();
  const deferred = new DeferredBackend({ kind: 'docker', make: () => made.promise });
  expect(deferred.signalsStart).toBe(true);
  let started = false;
  const run = deferred.run(request('inv_1', () => (started = true)));
  await new Promise((r) => setTimeout(r, 20));
  expect(started).toBe(false);
  expect(inner.runs).toEqual([]);
  made.open(inner);
  expect(await run).toMatchObject({ ok: true });
  expect(started).toBe(true);
  expect(inner.runs).toEqual(['inv_1']);
});

it('refuses a waiting call as sandbox_unavailable with a retry delay when the backend cannot be made', async () => {
  const made = gate<SandboxBackend>();
  const deferred = new DeferredBackend({ kind: 'docker', make: () => made.promise });
  const run = deferred.run(request('inv_2'));
  made.fail(new Error('connect ENOENT /var/run/docker.sock'));
  const err = await run.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ToolcageError);
  expect((err as ToolcageError).code).toBe('sandbox_unavailable');
  expect((err as ToolcageError).retryAfterSeconds).toBe(1);
  expect((err as ToolcageError).message).toMatch(/could not start .*ENOENT.*retry later/);
  expect(await deferred.health()).toMatchObject({
    usable: false,
    detail: expect.stringMatching(/^could not start/),
  });
});

it('stops waiting when the call is aborted', async () => {
  const made = gate<SandboxBackend>();
  const deferred = new DeferredBackend({ kind: 'docker', make: () => made.promise });
  const controller = new AbortController();
  const run = deferred.run(request('inv_3'), controller.signal);
  controller.abort(new Error('client disconnected'));
  await expect(run).rejects.toThrow('client disconnected');
  made.open(twin());
});

it('disposes the backend it was making, even when disposed before it was made', async () => {
  const made = gate<SandboxBackend>();
  const inner = twin();
  const deferred = new DeferredBackend({ kind: 'docker', make: () => made.promise });
  const disposing = deferred.dispose();
  made.open(inner);
  await disposing;
  expect(inner.disposed).toBe(true);
});
