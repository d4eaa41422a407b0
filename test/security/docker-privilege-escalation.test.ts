import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDockerBackend, type DockerBackend } from '../../src/sandbox/docker/index.ts';
import { attackTool, expectNoContainersLeft, uniqueRunnerId } from '../sandbox/docker/helpers.ts';

// Attack: a tool tries to gain privileges (root, capabilities, setuid, write the image, run dropped binaries).
const runnerId = uniqueRunnerId('priv');
let backend: DockerBackend;
let probe: Record<string, unknown>;

beforeAll(async () => {
  backend = createDockerBackend({ runnerId, pool: { size: 0 } });
  const result = await backend.run({
    invocationId: 'priv',
    tool: await attackTool('probe.sh'),
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
    expect(probe).toMatchObject({ noNewPrivs: 1, seccomp: 2 });
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
  it('sees no host device beyond the engine defaults', () => {
    expect(String(probe.devs).trim().split(' ').sort()).toEqual([
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
