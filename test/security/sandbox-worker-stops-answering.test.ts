// Attack (or accident): the worker process stops answering mid-call (SIGSTOP here; a wedged
// isolate or an escape that parks the process would look the same to the host). The host's
// backstop must end the call at timeoutMs + killGraceMs, SIGKILL the worker and replace it, for
// every run, also after earlier runs on the same worker answered in time (the backstop is one
// timer per worker, left armed between runs), and for an aborted run at killGraceMs.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SandboxBackend } from '../../src/ports/sandbox.ts';
import {
  BENIGN,
  expectBenignSucceeds,
  expectFailure,
  request,
  startBackend,
  workerPids,
} from '../sandbox/isolated-vm/helpers.ts';

let backend: SandboxBackend;
beforeAll(async () => {
  backend = await startBackend({ workers: 1, killGraceMs: 200 });
});
afterAll(async () => {
  await backend.dispose();
});

const SLOW = `export default async function run() { await new Promise(() => {}); }`;

it('a worker that stops answering is killed at timeoutMs + killGraceMs, after earlier runs answered', async () => {
  // Runs with a long limit first: the backstop left armed by them must not delay the short one.
  for (let i = 0; i < 3; i++) {
    const ok = await backend.run(request(BENIGN, { timeoutMs: 20_000 }, { n: i }));
    expect(ok.ok).toBe(true);
  }
  const [pid] = workerPids();
  expect(pid).toBeGreaterThan(0);
  const t0 = performance.now();
  const pending = backend.run(request(SLOW, { timeoutMs: 300 }));
  await new Promise((r) => setTimeout(r, 50));
  process.kill(pid!, 'SIGSTOP');
  const result = await pending;
  const ms = performance.now() - t0;
  expectFailure(result, 'timeout');
  expect(ms).toBeGreaterThanOrEqual(490);
  expect(ms).toBeLessThan(500 + 1000);
  await expectBenignSucceeds(backend);
  expect(workerPids()).not.toContain(pid);
});

it('an aborted run on a worker that stops answering ends at killGraceMs after the abort', async () => {
  const [pid] = workerPids();
  const controller = new AbortController();
  const pending = backend.run(request(SLOW, { timeoutMs: 20_000 }), controller.signal);
  await new Promise((r) => setTimeout(r, 50));
  process.kill(pid!, 'SIGSTOP');
  const t0 = performance.now();
  controller.abort();
  const result = await pending;
  const ms = performance.now() - t0;
  expectFailure(result, 'sandbox_failed', /aborted/);
  expect(ms).toBeGreaterThanOrEqual(190);
  expect(ms).toBeLessThan(200 + 1000);
  await expectBenignSucceeds(backend);
  expect(workerPids()).not.toContain(pid);
});
