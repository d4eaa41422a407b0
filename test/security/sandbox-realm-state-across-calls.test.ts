// Attack: one call leaves state in the guest realm for the next call on the same warm isolate
// (another tool, another tenant): numbers written into every writable place it can reach,
// properties added to every object, the prelude's hardened intrinsics replaced. Every call gets
// a fresh context with the prelude run in it. This test is also the guard for any future move of
// the prelude into a V8 startup snapshot: V8 shares a snapshot's boxed numbers among all the
// contexts made from it, so a number in a writable place of a snapshot would carry a value from
// one call to the next (docs/performance.md, "The hardened realm from a V8 snapshot").
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SandboxBackend } from '../../src/ports/sandbox.ts';
import { expectBenignSucceeds, request, startBackend } from '../sandbox/isolated-vm/helpers.ts';
import { FIND_MARKS, LEAVE_MARKS } from '../sandbox/isolated-vm/realm-walk.ts';

let backend: SandboxBackend;
beforeAll(async () => {
  backend = await startBackend(); // one worker: every call here runs on the same warm isolate
});
afterAll(async () => {
  await backend.dispose();
});

function output(result: Awaited<ReturnType<SandboxBackend['run']>>): unknown {
  expect(result.ok).toBe(true);
  return result.ok ? JSON.parse(result.outputJson) : undefined;
}

it('numbers and properties a tool writes everywhere it can reach are not in the next call', async () => {
  const before = output(await backend.run(request(FIND_MARKS))) as { places: number };
  expect(before).toMatchObject({ found: [] });
  const left = output(await backend.run(request(LEAVE_MARKS))) as {
    numbers: number;
    objects: number;
  };
  // It did reach the realm: writable numbers (e.g. Error.stackTraceLimit) and hundreds of objects.
  expect(left.numbers).toBeGreaterThan(0);
  expect(left.objects).toBeGreaterThan(100);
  for (let i = 0; i < 3; i++) {
    const after = output(await backend.run(request(FIND_MARKS))) as { places: number };
    expect(after).toEqual({ places: before.places, found: [] });
  }
});

it('hardened intrinsics a tool replaces or extends are whole again in the next call', async () => {
  const tamper = `export default function run() {
    ArrayBuffer.isView = () => 'tampered'; ArrayBuffer.extra = 1.5;
    Object.getPrototypeOf(new Uint8Array(1).buffer).constructor = function Fake() {};
    globalThis.ArrayBuffer = function Fake() {};
    globalThis.console = { log: () => 'tampered' };
    try { Promise.prototype.then = () => 'tampered'; } catch {}
    globalThis.WebAssembly = { tampered: true };
    return 'done';
  }`;
  expect(output(await backend.run(request(tamper)))).toBe('done');
  const check = `export default function run() {
    const ab = new ArrayBuffer(8, { maxByteLength: 1 << 20 });
    return [ab.resizable, ArrayBuffer.name, typeof ArrayBuffer.isView(new Uint8Array(1)), ArrayBuffer.extra,
      ab.constructor === ArrayBuffer, Object.isFrozen(console), console.log('x'), Object.isFrozen(Promise.prototype),
      typeof WebAssembly, typeof SharedArrayBuffer, typeof Atomics];
  }`;
  expect(output(await backend.run(request(check)))).toEqual([
    false,
    'ArrayBuffer',
    'boolean',
    null, // undefined in an array is null in JSON
    true,
    true,
    null,
    true,
    'undefined',
    'undefined',
    'undefined',
  ]);
  await expectBenignSucceeds(backend);
});
