// Attack (or accident): the worker process dies mid-call (SIGKILL, as a V8 OOM or a catastrophic isolated-vm error would end it).
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SandboxBackend } from '../../src/ports/sandbox.ts';
import {
  expectBenignSucceeds,
  expectFailure,
  request,
  startBackend,
  workerPids,
} from '../sandbox/isolated-vm/helpers.ts';

let backend: SandboxBackend;
beforeAll(async () => {
  backend = await startBackend({ workers: 1 });
});
afterAll(async () => {
  await backend.dispose();
});

it('fails the in-flight call cleanly, replaces the worker, and the next call succeeds', async () => {
  const [pid] = workerPids();
  expect(pid).toBeGreaterThan(0);
  const pending = backend.run(
    request(`export default function run() { for (;;); }`, { timeoutMs: 10_000 }),
  );
  await new Promise((r) => setTimeout(r, 100));
  process.kill(pid!, 'SIGKILL');
  expectFailure(await pending, 'sandbox_failed', /worker exited \(SIGKILL\)/);
  await expectBenignSucceeds(backend);
  expect(workerPids()).not.toContain(pid);
  expect(await backend.health()).toMatchObject({ usable: true });
});

it('dispose() kills the workers and waits for them to exit', async () => {
  const other = await startBackend({ workers: 2 });
  const before = workerPids().length;
  await other.dispose();
  expect(workerPids().length).toBe(before - 2);
});
