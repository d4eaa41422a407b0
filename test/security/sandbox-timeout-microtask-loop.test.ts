// Attack: a self-rescheduling microtask chain that never lets the queue drain.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SandboxBackend } from '../../src/ports/sandbox.ts';
import {
  expectBenignSucceeds,
  expectFailure,
  request,
  startBackend,
} from '../sandbox/isolated-vm/helpers.ts';

let backend: SandboxBackend;
beforeAll(async () => {
  backend = await startBackend();
});
afterAll(async () => {
  await backend.dispose();
});

it('ends with timeout within timeoutMs plus a small margin, and the next call works', async () => {
  const started = Date.now();
  // spin returns nothing, so no promise chain grows: memory stays flat and only the time limit can
  // stop it. (Returning the promise would chain them and race the memory limit instead.)
  const result = await backend.run(
    request(
      `export default function run() { const spin = () => { Promise.resolve().then(spin); }; spin(); return 1; }`,
      { timeoutMs: 250 },
    ),
  );
  const elapsed = Date.now() - started;
  expectFailure(result, 'timeout');
  expect(elapsed).toBeGreaterThanOrEqual(240);
  expect(elapsed).toBeLessThan(250 + 200);
  await expectBenignSucceeds(backend);
});

it('a chained microtask loop (each promise resolved with the next) is stopped by whichever limit it hits first', async () => {
  const started = Date.now();
  const result = await backend.run(
    request(
      `export default function run() { const spin = () => Promise.resolve().then(spin); spin(); return 1; }`,
      { timeoutMs: 250 },
    ),
  );
  expect(result.ok).toBe(false);
  expect(result.ok ? '' : result.code).toMatch(/^(timeout|memory_limit)$/);
  expect(Date.now() - started).toBeLessThan(250 + 1000);
  await expectBenignSucceeds(backend);
});
