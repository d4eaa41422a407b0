/**
 * Pool, reaper and error paths of the Docker backend against the in-memory
 * engine (fake-docker-api.ts): faults that a real engine cannot be made to
 * show on demand. The same paths run against the real engine elsewhere
 * (backend.test.ts, docker-engine-killed-mid-call.test.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SandboxTool } from '../../../src/ports/sandbox.ts';
import { createDockerBackend, type DockerBackend } from '../../../src/sandbox/docker/index.ts';
import { FAKE_IDENTITY, FakeDockerApi } from './fake-docker-api.ts';

const tool: SandboxTool = {
  id: 'fake.echo',
  version: '1.0.0',
  runtime: 'docker',
  image: 'toolcage-test/fake',
  imageId: FAKE_IDENTITY,
  command: ['/bin/echo'],
  limits: { timeoutMs: 5000, memoryMb: 32, maxOutputBytes: 4096, cpus: 1, pids: 16 },
};

let backend: DockerBackend | undefined;
afterEach(async () => {
  await backend?.dispose();
  backend = undefined;
});

function make(api: FakeDockerApi, poolSize = 1): DockerBackend {
  backend = createDockerBackend({ api, runnerId: 'fake-runner', pool: { size: poolSize } });
  return backend;
}

describe('docker backend on a fake engine', () => {
  it('runs a call through a pooled container behind the gate, on runc where runsc is missing', async () => {
    const api = new FakeDockerApi();
    const b = make(api);
    await b.prewarm(tool);
    const [pooled] = [...api.containers.values()];
    expect(pooled?.spec.Entrypoint).toEqual(['/run/toolcage/gate']);
    expect(pooled?.spec.HostConfig.Runtime).toBe('runc');
    const r = await b.run({ invocationId: 'i1', tool, input: { a: 1 } });
    expect(r).toMatchObject({ ok: true, outputJson: '{"a":1}', runtime: 'runc' });
  });

  it('never hands out a pooled container removed behind its back, even when its wait went silent', async () => {
    const api = new FakeDockerApi();
    const b = make(api);
    await b.prewarm(tool);
    const [dead] = [...api.containers.keys()];
    api.silent = true; // the removal is not reported on the wait stream
    api.externalRemove(dead!);
    api.silent = false;
    const before = api.calls.length;
    const r = await b.run({ invocationId: 'i2', tool, input: { b: 2 } });
    expect(r).toMatchObject({ ok: true, outputJson: '{"b":2}' });
    // The dead one was inspected, found gone, and only removed: the call ran elsewhere.
    const onDead = api.calls.slice(before).filter((c) => c.id === dead);
    expect(onDead.map((c) => c.method)).toContain('inspectContainer');
    expect(onDead.every((c) => ['inspectContainer', 'remove'].includes(c.method))).toBe(true);
    expect(b.poolState().tools[0]?.disabled).toBe(false);
  });

  it('ends a call whose engine goes silent and then refuses as sandbox_unavailable, promptly', async () => {
    const api = new FakeDockerApi();
    const b = make(api, 0);
    api.tool = () => undefined; // runs until killed
    const started = Date.now();
    const pending = b.run({ invocationId: 'i3', tool, input: {} });
    await new Promise((r) => setTimeout(r, 100));
    api.silent = true;
    api.down = true;
    const r = await pending;
    expect(r).toMatchObject({ ok: false, code: 'sandbox_unavailable' });
    expect(r.ok ? '' : r.message).toContain('not a fault of the tool');
    expect(Date.now() - started).toBeLessThan(3000);
    api.down = false;
    api.silent = false;
    await b.whenIdle();
  });

  it('answers sandbox_unavailable at once while the engine refuses connections', async () => {
    const api = new FakeDockerApi();
    api.down = true;
    const r = await make(api).run({ invocationId: 'i4', tool, input: {} });
    expect(r).toMatchObject({ ok: false, code: 'sandbox_unavailable' });
    expect(r.ok ? '' : r.message).toContain('not reachable at unix:///fake/docker.sock');
  });

  it('reports a refused create as sandbox_failed with the HTTP status', async () => {
    const api = new FakeDockerApi();
    api.refuseCreate = 500;
    const r = await make(api, 0).run({ invocationId: 'i5', tool, input: {} });
    expect(r).toMatchObject({
      ok: false,
      code: 'sandbox_failed',
      message: 'The Docker engine refused the container (HTTP 500).',
    });
  });

  it('retries a failing removal until the container is gone', async () => {
    const api = new FakeDockerApi();
    api.failRemovals = 2;
    const b = make(api, 0);
    expect((await b.run({ invocationId: 'i6', tool, input: {} })).ok).toBe(true);
    await b.whenIdle();
    expect(api.containers.size).toBe(0);
    expect(b.poolState().pendingRemovals).toBe(0);
  });

  it('refuses a tool that requires gVisor on an engine without runsc, creating nothing', async () => {
    const api = new FakeDockerApi();
    const r = await make(api, 0).run({
      invocationId: 'i7',
      tool: { ...tool, isolation: 'gvisor' },
      input: {},
    });
    expect(r).toMatchObject({ ok: false, code: 'sandbox_unavailable' });
    expect(api.calls.map((c) => c.method)).not.toContain('createContainer');
  });

  it('uses runsc with RLIMIT_NPROC in place of the pids limit where the engine has it', async () => {
    const api = new FakeDockerApi();
    api.runtimeNames = ['runc', 'runsc'];
    const b = make(api, 0);
    let spec: unknown;
    api.tool = (stdin, s) => {
      spec = s;
      return { stdout: stdin, exitCode: 0 };
    };
    expect(await b.run({ invocationId: 'i8', tool, input: {} })).toMatchObject({
      ok: true,
      runtime: 'runsc',
    });
    expect(spec).toMatchObject({ HostConfig: { Runtime: 'runsc' } });
    const host = (spec as { HostConfig: Record<string, unknown> }).HostConfig;
    expect(host.PidsLimit).toBeUndefined();
    expect(host.Ulimits).toContainEqual({ Name: 'nproc', Soft: 16, Hard: 16 });
  });
});
