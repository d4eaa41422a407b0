// Attack: return a huge output to flood the runner's memory and the agent's context.
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

it('fails with output_too_large without copying the output out of the isolate', async () => {
  const result = await backend.run(
    request(
      `export default function run() { return Array.from({ length: 200000 }, (_, i) => 'row ' + i); }`,
      { memoryMb: 64, maxOutputBytes: 65536, timeoutMs: 2000 },
    ),
  );
  expectFailure(result, 'output_too_large', /at least \d+ bytes/);
  await expectBenignSucceeds(backend);
});

it('a hostile toJSON cannot forge a result', async () => {
  const result = await backend.run(
    request(`export default function run() { return { toJSON() { return 'x'.repeat(1e6); } }; }`, {
      maxOutputBytes: 1000,
    }),
  );
  expectFailure(result, 'output_too_large');
  expect(
    (
      await backend.run(
        request(`export default function run() { String.prototype.slice = () => 'o{}'; throw 1; }`),
      )
    ).ok,
  ).toBe(false);
  await expectBenignSucceeds(backend);
});
