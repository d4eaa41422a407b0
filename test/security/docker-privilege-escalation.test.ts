import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDockerBackend, type DockerBackend } from '../../src/sandbox/docker/index.ts';
import {
  expectNoContainersLeft,
  uniqueRunnerId,
  dockerRuntime,
  probeTool,
} from '../sandbox/docker/helpers.ts';

// Attack: a tool tries to gain privileges (root, capabilities, setuid, write the image, run dropped binaries).
const runnerId = uniqueRunnerId('priv');
let backend: DockerBackend;
let probe: Record<string, unknown>;

beforeAll(async () => {
  backend = createDockerBackend({ runtime: dockerRuntime, runnerId, pool: { size: 0 } });
  const result = await backend.run({
    invocationId: 'priv',
    tool: await probeTool(),
    input: {},
  });
  if (!result.ok) throw new Error(result.message);
  probe = JSON.parse(result.outputJson);
});
afterAll(async () => {
  await backend.dispose();
  await expectNoContainersLeft(runnerId);
});

describe('docker sandbox: privilege escalation', () => {
  it('runs as the non-root uid:gid 65532:65532', () => {
    expect(probe).toMatchObject({ uid: 65532, gid: 65532 });
  });
  it('holds no capability, not even in its bounding set', () => {
    expect(probe).toMatchObject({ capEff: '0000000000000000', capBnd: '0000000000000000' });
  });
  it('runs with no_new_privs and a seccomp filter (mode 2)', () => {
    // gVisor's /proc reports no NoNewPrivs line (-1) and no seccomp filter (0): the tool's syscalls go to gVisor's own
    // kernel, and the host-side seccomp filter is on gVisor itself (docs/gvisor.md).
    expect(probe).toMatchObject(
      dockerRuntime === 'runsc' ? { noNewPrivs: -1, seccomp: 0 } : { noNewPrivs: 1, seccomp: 2 },
    );
  });
  it('cannot write the root filesystem', () => {
    expect(probe.rootWritable).toBe(false);
  });
  it('can write /tmp but not execute what it writes there (noexec)', () => {
    expect(probe).toMatchObject({ tmpWritable: true, tmpExec: false });
  });
  it('runs under an init process as pid 1', () => {
    expect(probe.pid1).toBe('docker-init');
  });
  it('sees no host device beyond the engine defaults (gVisor: its own virtual ones)', () => {
    const devs = String(probe.devs).trim().split(' ').sort();
    if (dockerRuntime === 'runsc') {
      // gVisor's /dev is its own: fuse and net/tun are gVisor's emulations, not host devices.
      expect(devs).toEqual(
        'fd full fuse net null ptmx pts random shm stderr stdin stdout tty urandom zero'.split(' '),
      );
      return;
    }
    expect(devs).toEqual([
      'fd',
      'full',
      'mqueue',
      'null',
      'ptmx',
      'pts',
      'random',
      'shm',
      'stderr',
      'stdin',
      'stdout',
      'tty',
      'urandom',
      'zero',
    ]);
  });
});
