import type { Duplex } from 'node:stream';
import type { RunLimits, SandboxTool } from '../../../src/ports/sandbox.ts';
import { dockerodeApi, type DockerApi } from '../../../src/sandbox/docker/api.ts';
import { afterAll, expect } from 'vitest';
import { createDockerBackend } from '../../../src/sandbox/docker/index.ts';
import { attackTool, dockerRuntime, expectNoContainersLeft, uniqueRunnerId } from './helpers.ts';

/**
 * The real engine's API, watched: the nonce each gated call sent on stdin (the
 * first 64 hex digits and newline written to a container), and the exit status
 * the engine reported for each container. For the gate's security tests only.
 */
export function watchedApi(): {
  api: DockerApi;
  nonces: string[];
  engineStatus: Map<string, number>;
} {
  const api = dockerodeApi('/var/run/docker.sock');
  const nonces: string[] = [];
  const engineStatus = new Map<string, number>();
  return {
    nonces,
    engineStatus,
    api: {
      ...api,
      async attach(id: string): Promise<Duplex> {
        const stream = await api.attach(id);
        const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
        stream.write = ((chunk: unknown, ...rest: unknown[]) => {
          const head = Buffer.isBuffer(chunk) ? chunk.subarray(0, 65).toString('latin1') : '';
          if (/^[0-9a-f]{64}\n$/.test(head)) nonces.push(head.slice(0, 64));
          return write(chunk, ...rest);
        }) as typeof stream.write;
        return stream;
      },
      async wait(id: string) {
        const r = await api.wait(id);
        engineStatus.set(id, r.StatusCode);
        return r;
      },
    },
  };
}

/** A tool of the attack image running `script` with /bin/sh (busybox). */
export async function shellTool(
  id: string,
  script: string,
  limits: Partial<RunLimits> = {},
): Promise<SandboxTool> {
  return {
    ...(await attackTool('echo.sh', [], limits)),
    id: `test.${id}`,
    command: ['/bin/sh', '-c', script],
  };
}

/** printf arguments writing the gate's trailer format with this nonce. */
export function forgedTrailer(nonce: string): string {
  return `'\\000toolcage-exit0:${nonce}\\n'`;
}

/**
 * A Docker backend on the watched engine with a pool of one, so every call
 * goes through the gate; disposed, and checked to leave no container, after
 * the test file.
 */
export function gatedBackend(name: string) {
  const runnerId = uniqueRunnerId(name);
  const watched = watchedApi();
  const backend = createDockerBackend({
    api: watched.api,
    runtime: dockerRuntime,
    runnerId,
    pool: { size: 1 },
  });
  afterAll(async () => {
    await backend.dispose();
    await expectNoContainersLeft(runnerId);
  });
  /** Runs `script` in a pooled (gated) container: the pool is filled first. */
  async function runPooled(script: string, invocationId: string, input: unknown = {}) {
    const tool = await shellTool(invocationId, script);
    await backend.prewarm(tool);
    const sent = watched.nonces.length;
    const result = await backend.run({ invocationId, tool, input });
    expect(watched.nonces.length).toBe(sent + 1); // the call went through the gate
    return result;
  }
  return { runnerId, watched, backend, runPooled };
}
