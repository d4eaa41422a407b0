/**
 * Fault: the Docker Engine dies (SIGKILL) mid-traffic and comes back. On a
 * PRIVATE dockerd (see private-engine.ts), never the shared one. The call
 * in flight must end promptly as `sandbox_unavailable`, never as the
 * tool's `timeout`; calls while it is down are refused at once; the pool
 * must not hand out containers from before the restart (they are dead);
 * the first calls after recovery succeed; nothing is left behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/ports/sandbox.ts';
import { createDockerBackend, LABEL, type DockerBackend } from '../../src/sandbox/docker/index.ts';
import { attackTool, testImages, uniqueRunnerId } from '../sandbox/docker/helpers.ts';
import { startPrivateEngine, type PrivateEngine } from '../sandbox/docker/private-engine.ts';

const runnerId = uniqueRunnerId('engine-fault');
let engine: PrivateEngine;
let backend: DockerBackend;

beforeAll(async () => {
  await testImages();
  engine = await startPrivateEngine('fault');
  await engine.loadImage('toolcage-test/attack:latest');
  backend = createDockerBackend({ runnerId, socketPath: engine.socketPath, pool: { size: 2 } });
}, 120_000);
afterAll(async () => {
  await backend?.dispose();
  const left = await engine?.docker
    .listContainers({ all: true, filters: { label: [`${LABEL.runner}=${runnerId}`] } })
    .catch(() => []);
  await engine?.destroy();
  expect(left).toEqual([]);
}, 60_000);

const timed = async (p: Promise<RunResult>): Promise<RunResult & { wallMs: number }> => {
  const t = Date.now();
  const r = await p;
  return { ...r, wallMs: Date.now() - t };
};

describe('docker sandbox: engine killed and restarted mid-traffic', () => {
  it('ends the call in flight as sandbox_unavailable, refuses calls while down, and serves the first calls after recovery', async () => {
    const echo = await attackTool('echo.sh', [], { timeoutMs: 8000 });
    const sleeper = await attackTool('sleep.sh', [], { timeoutMs: 8000 });
    await backend.prewarm(echo);
    await backend.prewarm(sleeper);
    expect(
      await backend.run({ invocationId: 'before', tool: echo, input: { n: 0 } }),
    ).toMatchObject({ ok: true });

    // In flight: a long call (pooled container), plus a stream of short ones.
    const inFlight = timed(backend.run({ invocationId: 'in-flight', tool: sleeper, input: {} }));
    let stop = false;
    const stream: Promise<Array<RunResult & { wallMs: number }>> = (async () => {
      const out: Array<RunResult & { wallMs: number }> = [];
      for (let i = 0; !stop; i++) {
        out.push(await timed(backend.run({ invocationId: `s${i}`, tool: echo, input: { i } })));
        await new Promise((r) => setTimeout(r, 50));
      }
      return out;
    })();
    try {
      await checks(inFlight);
    } finally {
      stop = true;
    }
    // Every call of the stream ended within its deadline, with an honest code: never `timeout`.
    const results = await stream;
    expect(results.length).toBeGreaterThan(3);
    for (const r of results) {
      expect(r.wallMs).toBeLessThan(8000 + 2000);
      if (!r.ok) expect(['sandbox_unavailable']).toContain(r.code);
    }
  }, 120_000);
});

async function checks(inFlight: Promise<RunResult & { wallMs: number }>): Promise<void> {
  {
    const echo = await attackTool('echo.sh', [], { timeoutMs: 8000 });
    const sleeper = await attackTool('sleep.sh', [], { timeoutMs: 8000 });
    await new Promise((r) => setTimeout(r, 1500));
    const killedAt = Date.now();
    await engine.kill();

    const lost = await inFlight;
    expect(lost).toMatchObject({ ok: false, code: 'sandbox_unavailable' });
    expect(Date.now() - killedAt).toBeLessThan(3000);

    const down = await timed(backend.run({ invocationId: 'down', tool: echo, input: {} }));
    expect(down).toMatchObject({ ok: false, code: 'sandbox_unavailable' });
    expect(down.wallMs).toBeLessThan(3000);
    expect((await backend.health()).usable).toBe(false);

    await engine.start();
    expect((await backend.health()).usable).toBe(true);
    // The first calls after recovery succeed: no dead pooled container is handed out.
    for (const [i, tool] of [echo, echo, sleeper, echo].entries()) {
      const r = await timed(
        backend.run({
          invocationId: `after${i}`,
          tool: tool === sleeper ? { ...echo, id: 'test.echo_after' } : tool,
          input: { i },
        }),
      );
      expect(r, `call ${i} after recovery`).toMatchObject({ ok: true });
      expect(r.wallMs).toBeLessThan(6000);
    }
  }
}
