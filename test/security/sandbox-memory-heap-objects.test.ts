// Attack: fill the heap with live objects until the isolate dies.
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
      `export default function run() { const a = []; for (;;) a.push(new Array(1000).fill(a.length)); }`,
      { memoryMb: 16, timeoutMs: 4000 },
    ),
  );
  expectFailure(result, 'memory_limit');
  expect(Date.now() - started).toBeLessThan(4000);
  await expectBenignSucceeds(backend);
});
