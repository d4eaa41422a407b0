// Attack: climb a constructor chain (this, ctx, input, Function) to the host realm's Function and reach `process`.
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

it('this.constructor.constructor("return process")() fails inside the isolate', async () => {
  expectFailure(
    await backend.run(
      request(
        `export default function run() { return this.constructor.constructor('return process')(); }`,
      ),
    ),
    'sandbox_failed',
    /TypeError/,
  );
  await expectBenignSucceeds(backend);
});

it('ctx, input and the module function chains lead only to the isolate realm, with no process or require', async () => {
  const source = `export default function run(input, ctx) {
    const probe = (F) => { const g = F('return this')(); return [typeof g.process, typeof g.require, typeof g.module, F('return typeof process')()].join(); };
    return {
      ctx: probe(ctx.constructor.constructor),
      creds: probe(ctx.credentials.constructor.constructor),
      input: probe(input.constructor.constructor),
      fn: probe(run.constructor),
      global: probe(Function),
      sameRealm: ctx.constructor.constructor === Function && input.constructor === Object,
      globals: Object.getOwnPropertyNames(globalThis).filter((k) => !/^[A-Z]/.test(k)).sort(),
    };
  }`;
  const result = await backend.run(
    request(source, {}, { n: 1 }, { credentials: [{ lane: 'l', as: 'TOKEN', value: 'v' }] }),
  );
  expect(result.ok).toBe(true);
  const out = result.ok ? JSON.parse(result.outputJson) : undefined;
  const none = 'undefined,undefined,undefined,undefined';
  expect(out).toMatchObject({
    ctx: none,
    creds: none,
    input: none,
    fn: none,
    global: none,
    sameRealm: true,
  });
  // Only ECMAScript's own lower-case globals, plus console (a no-op).
  expect(out.globals).toEqual([
    'console',
    'decodeURI',
    'decodeURIComponent',
    'encodeURI',
    'encodeURIComponent',
    'escape',
    'eval',
    'globalThis',
    'isFinite',
    'isNaN',
    'parseFloat',
    'parseInt',
    'undefined',
    'unescape',
  ]);
  await expectBenignSucceeds(backend);
});
