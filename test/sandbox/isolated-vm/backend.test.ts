import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxBackend } from '../../../src/ports/sandbox.ts';
import { createIsolatedVmBackend } from '../../../src/sandbox/isolated-vm/index.ts';
import { expectBenignSucceeds, expectFailure, request, startBackend } from './helpers.ts';

let backend: SandboxBackend;
beforeAll(async () => {
  backend = await startBackend({ workers: 2 });
});
afterAll(async () => {
  await backend.dispose();
});

describe('isolated-vm backend: results', () => {
  it('runs a sync tool and returns its JSON text', async () => {
    const result = await backend.run(
      request(
        `export default function run(input) { return { words: input.text.split(/\\s+/).length }; }`,
        {},
        { text: 'a b c' },
      ),
    );
    expect(result).toMatchObject({ ok: true, outputJson: '{"words":3}' });
  });

  it('runs an async tool', async () => {
    const result = await backend.run(
      request(
        `export default async function run(input) { await null; return [input.n, await Promise.resolve(2)]; }`,
      ),
    );
    expect(result).toMatchObject({ ok: true, outputJson: '[1,2]' });
  });

  it('hands ctx as a frozen copy with invocationId, tool and credentials', async () => {
    const source = `export default function run(input, ctx) { return { ctx, frozen: Object.isFrozen(ctx) && Object.isFrozen(ctx.credentials) }; }`;
    const result = await backend.run(
      request(
        source,
        {},
        {},
        {
          invocationId: 'inv-ctx',
          credentials: [{ lane: 'github', as: 'GITHUB_TOKEN', value: 'ghs_x' }],
        },
      ),
    );
    expect(result.ok && JSON.parse(result.outputJson)).toEqual({
      ctx: {
        invocationId: 'inv-ctx',
        tool: { id: 'test.tool', version: '1.0.0' },
        credentials: { GITHUB_TOKEN: 'ghs_x' },
      },
      frozen: true,
    });
  });

  it('gives the next call a fresh realm after a tool pollutes prototypes and globals', async () => {
    const polluter = `export default function run() { Object.prototype.polluted = 'yes'; globalThis.__leak = 1; Array.prototype.push = null; JSON.stringify = () => '"hijacked"'; return 1; }`;
    expect(await backend.run(request(polluter))).toMatchObject({ ok: true, outputJson: '1' });
    for (let i = 0; i < 4; i++) await expectBenignSucceeds(backend);
  });

  it('fails with sandbox_failed, never throws, when the tool throws (message summarised)', async () => {
    const result = await backend.run(
      request(`export default function run() { throw new Error('x'.repeat(1000)); }`),
    );
    expectFailure(result, 'sandbox_failed', /^The tool threw: Error: x+/);
    expect(!result.ok && result.message.length).toBeLessThanOrEqual(200);
  });

  it('fails with sandbox_failed for a syntax error or a missing default export', async () => {
    expectFailure(
      await backend.run(request(`export default function (`)),
      'sandbox_failed',
      /failed to load/,
    );
    expectFailure(
      await backend.run(request(`export const run = 1;`)),
      'sandbox_failed',
      /no default export/,
    );
    await expectBenignSucceeds(backend);
  });

  it.each([
    ['undefined', `export default function run() {}`],
    ['a function', `export default function run() { return () => 1; }`],
    ['a BigInt', `export default function run() { return { n: 1n }; }`],
    ['a cycle', `export default function run() { const a = {}; a.a = a; return a; }`],
  ])('fails with sandbox_failed "not JSON" for %s output', async (_name, source) => {
    expectFailure(await backend.run(request(source)), 'sandbox_failed', /not JSON/);
    await expectBenignSucceeds(backend);
  });

  it('fails with output_too_large above maxOutputBytes, counting UTF-8 bytes', async () => {
    expectFailure(
      await backend.run(
        request(`export default function run() { return 'x'.repeat(5000); }`, {
          maxOutputBytes: 1000,
        }),
      ),
      'output_too_large',
    );
    // 400 × "é" is 402 JSON characters but 802 UTF-8 bytes.
    expectFailure(
      await backend.run(
        request(`export default function run() { return 'é'.repeat(400); }`, {
          maxOutputBytes: 500,
        }),
      ),
      'output_too_large',
      /802 bytes/,
    );
    expect(
      await backend.run(
        request(`export default function run() { return 'é'.repeat(200); }`, {
          maxOutputBytes: 500,
        }),
      ),
    ).toMatchObject({ ok: true });
    await expectBenignSucceeds(backend);
  });

  it('aborts a run on signal with sandbox_failed "aborted", and the next call works', async () => {
    const controller = new AbortController();
    const pending = backend.run(
      request(`export default function run() { for (;;); }`, { timeoutMs: 5000 }),
      controller.signal,
    );
    setTimeout(() => controller.abort(), 50);
    const started = Date.now();
    expectFailure(await pending, 'sandbox_failed', /^aborted$/);
    expect(Date.now() - started).toBeLessThan(1000);
    expectFailure(
      await backend.run(
        request(`export default function run() { return 1; }`),
        AbortSignal.abort(),
      ),
      'sandbox_failed',
      /^aborted$/,
    );
    await expectBenignSucceeds(backend);
  });

  it('queues calls beyond the pool and runs them all', async () => {
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, n) =>
        backend.run(request(`export default async function run(i) { return i.n * 2; }`, {}, { n })),
      ),
    );
    expect(results.map((r) => r.ok && r.outputJson)).toEqual(
      Array.from({ length: 40 }, (_, n) => String(n * 2)),
    );
  });

  it('reports health while workers are up', async () => {
    expect(await backend.health()).toMatchObject({ usable: true });
  });
});

describe('isolated-vm backend: misuse', () => {
  it('validates options with "Expected X, got Y"', () => {
    expect(() => createIsolatedVmBackend({ workers: 0 })).toThrow(
      new TypeError('Expected workers to be an integer from 1 to 64, got 0'),
    );
    expect(() => createIsolatedVmBackend({ maxCallsPerWorker: 1.5 })).toThrow(
      /Expected maxCallsPerWorker .* got 1.5/,
    );
    expect(() => createIsolatedVmBackend({ workers: '2' as never })).toThrow(/got string/);
  });

  it('throws for a docker tool, a missing source or a zero limit, and after dispose', async () => {
    const other = await startBackend();
    await expect(
      other.run({ ...request('x'), tool: { ...request('x').tool, runtime: 'docker' } }),
    ).rejects.toThrow(TypeError);
    await expect(
      other.run({ ...request('x'), tool: { ...request('x').tool, source: undefined } as never }),
    ).rejects.toThrow(/tool.source/);
    await expect(other.run(request('x', { timeoutMs: 0 }))).rejects.toThrow(/timeoutMs/);
    await other.dispose();
    expect(await other.health()).toMatchObject({ usable: false });
    await expect(other.run(request('x'))).rejects.toThrow(/disposed/);
  });

  it('replaces a worker after maxCallsPerWorker calls', async () => {
    const other = await startBackend({ maxCallsPerWorker: 2 });
    for (let i = 0; i < 6; i++) await expectBenignSucceeds(other);
    await other.dispose();
  });
});
