import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDockerBackend, type DockerBackend } from '../../../src/sandbox/docker/index.ts';
import {
  attackTool,
  containersOf,
  expectNoContainersLeft,
  textTool,
  uniqueRunnerId,
} from './helpers.ts';

const runnerId = uniqueRunnerId('backend');
let backend: DockerBackend;

beforeAll(async () => {
  backend = createDockerBackend({ runnerId, pool: { size: 2, idleMs: 60_000 } });
  await backend.ready();
});

afterAll(async () => {
  await backend.dispose();
  await expectNoContainersLeft(runnerId);
});

describe('docker backend: example tools', () => {
  it('text.sha256sum hashes the exact UTF-8 bytes of the text, unicode and escapes included', async () => {
    const tool = await textTool('sha256sum');
    const text = 'héllo "wörld" \\ \n\t😀 end';
    const result = await backend.run({ invocationId: 'sha-1', tool, input: { text } });
    expect(result).toMatchObject({ ok: true });
    if (!result.ok) return;
    expect(JSON.parse(result.outputJson)).toEqual({
      sha256: createHash('sha256').update(text, 'utf8').digest('hex'),
      bytes: Buffer.byteLength(text),
    });
  });

  it('text.grep finds a fixed string (regex characters are literal), with line numbers and a match cap', async () => {
    const tool = await textTool('grep');
    const text = 'alpha a.c\nbeta\nA.C gamma\nabc\n"a.c" \\ \u0001 done';
    const result = await backend.run({
      invocationId: 'grep-1',
      tool,
      input: { text, pattern: 'a.c', ignoreCase: true, maxMatches: 2 },
    });
    expect(result).toMatchObject({ ok: true });
    if (!result.ok) return;
    expect(JSON.parse(result.outputJson)).toEqual({
      matches: [
        { line: 1, text: 'alpha a.c' },
        { line: 3, text: 'A.C gamma' },
      ],
      count: 3,
      truncated: true,
    });
    const all = await backend.run({
      invocationId: 'grep-2',
      tool,
      input: { text, pattern: 'a.c' },
    });
    expect(all.ok && JSON.parse(all.outputJson)).toEqual({
      matches: [
        { line: 1, text: 'alpha a.c' },
        { line: 5, text: '"a.c" \\ \u0001 done' },
      ],
      count: 2,
      truncated: false,
    });
  });

  it('handles a 100 000-character text full of escapes within the manifest limits (5 s, 1 CPU)', async () => {
    const text = Array.from({ length: 5000 }, (_, i) => `l "${i}" é\\\t`)
      .join('\n')
      .slice(0, 100_000);
    const sha = await backend.run({
      invocationId: 'big-1',
      tool: await textTool('sha256sum', { timeoutMs: 5000, cpus: 1, pids: 16 }),
      input: { text },
    });
    expect(sha.ok && JSON.parse(sha.outputJson).sha256).toBe(
      createHash('sha256').update(text, 'utf8').digest('hex'),
    );
    const grep = await backend.run({
      invocationId: 'big-2',
      tool: await textTool('grep', { timeoutMs: 5000, cpus: 1, pids: 16 }),
      input: { text, pattern: '"4999"' },
    });
    expect(grep.ok && JSON.parse(grep.outputJson)).toMatchObject({
      count: 1,
      matches: [{ line: 5000 }],
    });
  });

  it('text.grep with no match returns an empty list, not a failure', async () => {
    const tool = await textTool('grep');
    const result = await backend.run({
      invocationId: 'grep-3',
      tool,
      input: { text: 'nothing here', pattern: 'zzz' },
    });
    expect(result.ok && JSON.parse(result.outputJson)).toEqual({
      matches: [],
      count: 0,
      truncated: false,
    });
  });
});

describe('docker backend: protocol failures', () => {
  it('output that is not JSON is sandbox_failed', async () => {
    const result = await backend.run({
      invocationId: 'p-1',
      tool: await attackTool('misbehave.sh', ['notjson']),
      input: {},
    });
    expect(result).toMatchObject({
      ok: false,
      code: 'sandbox_failed',
      message: 'The tool wrote output that is not one JSON value.',
    });
  });

  it('output that is not UTF-8 is sandbox_failed', async () => {
    const result = await backend.run({
      invocationId: 'p-2',
      tool: await attackTool('misbehave.sh', ['badutf8']),
      input: {},
    });
    expect(result).toMatchObject({
      ok: false,
      code: 'sandbox_failed',
      message: 'The tool wrote output that is not valid UTF-8.',
    });
  });

  it('a crash is sandbox_failed with a short reason; stderr is capped at 8 KiB and kept out of the message', async () => {
    const result = await backend.run({
      invocationId: 'p-3',
      tool: await attackTool('misbehave.sh', ['crash']),
      input: {},
    });
    expect(result).toMatchObject({
      ok: false,
      code: 'sandbox_failed',
      message: 'The tool exited with status 3.',
    });
    expect(result.stderr?.length).toBe(8192);
    expect(result.stderr).toContain('error line 0');
    expect(result.ok ? '' : result.message).not.toContain('supersecret');
  });
});

describe('docker backend: pool and concurrency', () => {
  it('keeps a visible per-tool pool, refilled in the background after each call', async () => {
    const tool = await textTool('sha256sum');
    await backend.prewarm(tool);
    const before = backend.poolState().tools.find((t) => t.tool === 'text.sha256sum@1.0.0');
    expect(before).toMatchObject({ ready: 2, disabled: false });
    const r = await backend.run({ invocationId: 'pool-1', tool, input: { text: 'x' } });
    expect(r.ok).toBe(true);
    await backend.prewarm(tool);
    expect(backend.poolState().tools.find((t) => t.tool === 'text.sha256sum@1.0.0')).toMatchObject({
      ready: 2,
    });
    expect(backend.poolState()).toMatchObject({ size: 2, idleMs: 60_000, inFlight: 0 });
  });

  it('each pooled container serves exactly one call: fresh state every time', async () => {
    // echo.sh echoes its input; a second call on the same container would see an exited process instead.
    const tool = await attackTool('echo.sh');
    const ids = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const r = await backend.run({ invocationId: `fresh-${i}`, tool, input: { i } });
      expect(r.ok && JSON.parse(r.outputJson)).toEqual({ i });
      for (const c of await containersOf(runnerId)) ids.add(c.Id);
    }
    await backend.whenIdle();
    expect(ids.size).toBeGreaterThanOrEqual(4);
  });

  it('runs 20 calls at once, all succeeding with their own results', async () => {
    const tool = await textTool('sha256sum');
    const texts = Array.from({ length: 20 }, (_, i) => `call number ${i}`);
    const results = await Promise.all(
      texts.map((text, i) => backend.run({ invocationId: `c-${i}`, tool, input: { text } })),
    );
    results.forEach((r, i) => {
      expect(r.ok).toBe(true);
      if (r.ok)
        expect(JSON.parse(r.outputJson).sha256).toBe(
          createHash('sha256')
            .update(texts[i] as string)
            .digest('hex'),
        );
    });
  }, 120_000);

  it('an aborted call (client gone) stops and removes its container and says so', async () => {
    const tool = await attackTool('sleep.sh', [], { timeoutMs: 30_000 });
    const controller = new AbortController();
    const pending = backend.run({ invocationId: 'abort-1', tool, input: {} }, controller.signal);
    await new Promise((r) => setTimeout(r, 300));
    controller.abort();
    const result = await pending;
    expect(result).toMatchObject({ ok: false, code: 'sandbox_failed' });
    expect(result.ok ? '' : result.message).toMatch(/cancelled/);
    expect(result.durationMs).toBeLessThan(5000);
  });

  it('credentials go into the environment of a container made for that call only', async () => {
    const tool = await attackTool('echo.sh');
    const r = await backend.run({
      invocationId: 'cred-1',
      tool,
      input: { ok: 1 },
      credentials: [{ lane: 'x', as: 'TOKEN', value: 's3cret' }],
    });
    expect(r.ok).toBe(true);
  });

  it('health says the engine is usable, names where it is and which runtime tools run on', async () => {
    // setup.sh registers runsc with the engine: the default configuration runs tools under gVisor.
    // Engines differ in which other runtimes they list (some name containerd's shims too), so the
    // test holds the ones toolcage relies on, not the engine's whole list.
    const health = await backend.health();
    expect(health).toMatchObject({
      usable: true,
      detail:
        'Docker engine reachable at unix:///var/run/docker.sock; tools run under gVisor (runsc)',
      runtime: { default: 'runsc', gvisor: true },
    });
    expect(health.runtime?.registered).toEqual(expect.arrayContaining(['runc', 'runsc']));
  });

  it('removes the finished containers of calls back to back, whose removal waited for the refills, by dispose', async () => {
    const id = `${runnerId}-b`;
    const other = createDockerBackend({ runnerId: id, pool: { size: 2, maxStarting: 1 } });
    const tool = await textTool('sha256sum');
    await other.prewarm(tool);
    for (let i = 0; i < 4; i++) {
      const r = await other.run({ invocationId: `b2b-${i}`, tool, input: { text: `${i}` } });
      expect(r.ok).toBe(true);
    }
    // A finished call's container may wait for its removal, but only once it exited: what still runs
    // is the pool's own (2 ready, at most 1 being made).
    const list = await containersOf(id);
    expect(list.filter((c) => c.State === 'running').length).toBeLessThanOrEqual(2 + 1);
    await other.dispose();
    await expectNoContainersLeft(id);
  });

  it('dispose removes every pooled container', async () => {
    const other = createDockerBackend({ runnerId: `${runnerId}-d`, pool: { size: 3 } });
    await other.prewarm(await textTool('sha256sum'));
    expect((await containersOf(`${runnerId}-d`)).length).toBe(3);
    await other.dispose();
    await expectNoContainersLeft(`${runnerId}-d`);
    await expect(
      other.run({ invocationId: 'late', tool: await textTool('sha256sum'), input: { text: '' } }),
    ).rejects.toThrow(/disposed/);
  });
});
