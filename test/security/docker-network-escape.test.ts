import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDockerBackend, type DockerBackend } from '../../src/sandbox/docker/index.ts';
import {
  expectNoContainersLeft,
  uniqueRunnerId,
  dockerRuntime,
  probeTool,
} from '../sandbox/docker/helpers.ts';

// Attack: a tool tries to reach the network (exfiltration, SSRF to the host or a metadata service).
const runnerId = uniqueRunnerId('net');
let backend: DockerBackend;
let probe: Record<string, unknown>;

beforeAll(async () => {
  backend = createDockerBackend({ runtime: dockerRuntime, runnerId, pool: { size: 0 } });
  const result = await backend.run({
    invocationId: 'net',
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

describe('docker sandbox: network escape', () => {
  it('has no network interface but lo', () => {
    expect(probe.nets).toBe('lo ');
  });
  it('cannot send a packet anywhere', () => {
    expect(probe.ping).toBe(false);
  });
});
