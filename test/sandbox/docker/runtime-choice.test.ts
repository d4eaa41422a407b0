/**
 * The runtime choice on an engine WITHOUT gVisor (a private dockerd with
 * only runc registered): the default falls back to runc and says so loudly;
 * a manifest that requires gVisor, or a config that requires runsc, is
 * refused with sandbox_unavailable and never run on runc.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDockerBackend,
  LABEL,
  type DockerBackend,
} from '../../../src/sandbox/docker/index.ts';
import { attackTool, testImages, uniqueRunnerId } from './helpers.ts';
import { startPrivateEngine, type PrivateEngine } from './private-engine.ts';

const runnerId = uniqueRunnerId('runtime-choice');
let engine: PrivateEngine;
const backends: DockerBackend[] = [];

beforeAll(async () => {
  await testImages();
  engine = await startPrivateEngine('nogvisor');
  await engine.loadImage('toolcage-test/attack:latest');
}, 120_000);
afterAll(async () => {
  for (const b of backends) await b.dispose();
  const left = await engine?.docker
    .listContainers({ all: true, filters: { label: [`${LABEL.runner}=${runnerId}`] } })
    .catch(() => []);
  await engine?.destroy();
  expect(left).toEqual([]);
}, 60_000);

function backendWith(runtime?: 'auto' | 'runsc' | 'runc'): DockerBackend {
  const b = createDockerBackend({
    runnerId,
    socketPath: engine.socketPath,
    pool: { size: 1 },
    ...(runtime ? { runtime } : {}),
  });
  backends.push(b);
  return b;
}

describe('docker runtime choice on an engine without gVisor', () => {
  it('the default runs tools on runc and warns in health', async () => {
    const b = backendWith();
    const health = await b.health();
    expect(health).toMatchObject({
      usable: true,
      runtime: { default: 'runc', gvisor: false, registered: expect.arrayContaining(['runc']) },
    });
    expect(health.detail).toContain('WARNING: tools run under runc on the host kernel');
    const r = await b.run({
      invocationId: 'c1',
      tool: await attackTool('echo.sh'),
      input: { a: 1 },
    });
    expect(r).toMatchObject({ ok: true, runtime: 'runc' });
  });

  it('refuses a tool whose manifest requires gVisor, with a message that says what to do', async () => {
    const b = backendWith();
    const tool = {
      ...(await attackTool('echo.sh')),
      id: 'test.needs_gvisor',
      isolation: 'gvisor' as const,
    };
    const r = await b.run({ invocationId: 'c2', tool, input: {} });
    expect(r).toMatchObject({ ok: false, code: 'sandbox_unavailable' });
    expect(r.ok ? '' : r.message).toBe(
      `test.needs_gvisor requires gVisor (isolation: gvisor), but the Docker engine at unix://${engine.socketPath} has no runsc runtime registered (it has ${(await b.health()).runtime?.registered.join(', ')}). Install runsc and register it with the engine (scripts/setup.sh does both; see docs/gvisor.md). toolcage never runs such a tool on runc instead.`,
    );
    await expect(b.prewarm(tool)).rejects.toThrow(/requires gVisor/);
    // Nothing was made for it, pooled or not.
    expect(
      await engine.docker.listContainers({
        all: true,
        filters: { label: [`${LABEL.tool}=test.needs_gvisor@1.0.0`] },
      }),
    ).toEqual([]);
  });

  it('a config requiring runsc makes the backend unusable and refuses every tool', async () => {
    const b = backendWith('runsc');
    expect(await b.health()).toMatchObject({ usable: false, runtime: { default: 'none' } });
    const r = await b.run({ invocationId: 'c3', tool: await attackTool('echo.sh'), input: {} });
    expect(r).toMatchObject({ ok: false, code: 'sandbox_unavailable' });
    expect(r.ok ? '' : r.message).toContain('The configuration sets sandbox.docker.runtime: runsc');
  });
});
