// Attack: allocate external ArrayBuffer memory (and typed arrays), which lives outside the V8 heap.
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
      `export default function run() { const keep = []; for (;;) { keep.push(new ArrayBuffer(1 << 20)); keep.push(new Float64Array(1 << 17).fill(1)); } }`,
      { memoryMb: 16, timeoutMs: 4000 },
    ),
  );
  expectFailure(result, 'memory_limit');
  expect(Date.now() - started).toBeLessThan(4000);
  await expectBenignSucceeds(backend);
});

it('a tool that catches the allocation failure still cannot exceed the limit', async () => {
  const source = `export default function run() { const keep = []; try { for (;;) keep.push(new ArrayBuffer(1 << 20)); } catch { return keep.length; } }`;
  const result = await backend.run(request(source, { memoryMb: 16, timeoutMs: 4000 }));
  expect(result.ok).toBe(true);
  expect(result.ok && Number(result.outputJson)).toBeLessThanOrEqual(3 * 16);
  await expectBenignSucceeds(backend);
});

it('a resizable ArrayBuffer (committed outside the limited allocator) cannot be made: maxByteLength is dropped', async () => {
  const source = `export default function run() {
    const viaGlobal = new ArrayBuffer(8, { maxByteLength: 2 ** 31 });
    const viaBuffer = new (new Uint8Array(1).buffer.constructor)(8, { maxByteLength: 2 ** 31 });
    class Sub extends ArrayBuffer {}
    const viaSubclass = new Sub(8, { maxByteLength: 2 ** 31 });
    const viaReflect = Reflect.construct(Object.getPrototypeOf(new Uint8Array(1).buffer).constructor, [8, { maxByteLength: 2 ** 31 }]);
    return [viaGlobal, viaBuffer, viaSubclass, viaReflect].map((b) => b.resizable);
  }`;
  expect(await backend.run(request(source))).toMatchObject({
    ok: true,
    outputJson: '[false,false,false,false]',
  });
  await expectBenignSucceeds(backend);
});
