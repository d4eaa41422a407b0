// Attack: double a flat string until it no longer fits.
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

it('stops the run with memory_limit, and the next call works', async () => {
  const started = Date.now();
  const result = await backend.run(
    request(
      `export default function run() { let s = 'x'; for (;;) { s = s + s; s.indexOf('y'); } }`,
      { memoryMb: 16, timeoutMs: 4000 },
    ),
  );
  expectFailure(result, 'memory_limit');
  expect(Date.now() - started).toBeLessThan(4000);
  await expectBenignSucceeds(backend);
});
