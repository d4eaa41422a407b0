// Attack: await a promise that never settles (there are no timers in the isolate).
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
  const result = await backend.run(
    request(`export default async function run() { await new Promise(() => {}); return 1; }`, {
      timeoutMs: 250,
    }),
  );
  const elapsed = Date.now() - started;
  expectFailure(result, 'timeout');
  expect(elapsed).toBeGreaterThanOrEqual(240);
  expect(elapsed).toBeLessThan(250 + 200);
  await expectBenignSucceeds(backend);
});
