/**
 * Attack: a tool throws `RangeError('Invalid string length')` (or another
 * allocation-failure message) itself, to be recorded as `memory_limit`:
 * blaming the platform's limit and retiring the worker on every call. Only a
 * real limit hit is `memory_limit`; a thrown look-alike is the tool's own
 * failure, reported as such.
 */
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

for (const message of [
  'Invalid string length',
  'Array buffer allocation failed',
  'Invalid typed array length: 9',
]) {
  it(`a thrown RangeError('${message}') is sandbox_failed, not memory_limit`, async () => {
    const result = await backend.run(
      request(
        `export default function run() { throw new RangeError(${JSON.stringify(message)}); }`,
        {
          memoryMb: 16,
        },
      ),
    );
    expectFailure(result, 'sandbox_failed', /^The tool threw: RangeError: /);
    await expectBenignSucceeds(backend);
  });
}

it('a real limit hit that the tool catches and rethrows is still memory_limit', async () => {
  const result = await backend.run(
    request(
      `export default function run() { const keep = []; try { for (;;) keep.push(new ArrayBuffer(1 << 20)); } catch (e) { globalThis.keep = keep; throw e; } }`,
      { memoryMb: 16, timeoutMs: 4000 },
    ),
  );
  expectFailure(result, 'memory_limit');
  expect(result.ok).toBe(false);
  await expectBenignSucceeds(backend);
});
