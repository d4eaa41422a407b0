// Attack: grow WebAssembly memory, which isolated-vm's limit does not see
// (measured: 189 MB RSS for a 16 MB isolate before a 4 s timeout, 0 bytes in its heap statistics).
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

it('WebAssembly.Memory grow fails: WebAssembly is not in the guest realm', async () => {
  const source = `export default function run() { const m = new WebAssembly.Memory({ initial: 1, maximum: 65536 }); for (;;) m.grow(16); }`;
  expectFailure(
    await backend.run(request(source, { memoryMb: 16, timeoutMs: 2000 })),
    'sandbox_failed',
    /ReferenceError: WebAssembly is not defined/,
  );
  await expectBenignSucceeds(backend);
});

it('no other path reaches WebAssembly, SharedArrayBuffer or Atomics', async () => {
  const source = `export default function run() {
    const g = Function('return this')();
    return [typeof g.WebAssembly, typeof g.SharedArrayBuffer, typeof g.Atomics, typeof globalThis.WebAssembly,
      Object.getOwnPropertyNames(g).filter((k) => /wasm|webassembly|atomics|shared/i.test(k)).length];
  }`;
  expect(await backend.run(request(source))).toMatchObject({
    ok: true,
    outputJson: '["undefined","undefined","undefined","undefined",0]',
  });
  await expectBenignSucceeds(backend);
});
