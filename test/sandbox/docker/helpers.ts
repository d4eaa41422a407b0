import { readFileSync } from 'node:fs';
import Docker from 'dockerode';
import { expect } from 'vitest';
import type { RunLimits, SandboxTool } from '../../../src/ports/sandbox.ts';
import { buildImage, LABEL } from '../../../src/sandbox/docker/index.ts';

export const docker = new Docker({ socketPath: '/var/run/docker.sock' });

/**
 * The OCI runtime the Docker tests run tools on: vitest's `docker-runsc` and
 * `docker-runc` projects set it (vitest.config.ts), so the security suite
 * runs under both; default runsc, which scripts/setup.sh installs and
 * registers (a missing runsc fails the tests, it never skips them).
 */
export const dockerRuntime: 'runsc' | 'runc' =
  process.env.TOOLCAGE_TEST_DOCKER_RUNTIME === 'runc' ? 'runc' : 'runsc';

let images: Promise<{ textTools: string; attack: string }> | undefined;

/** Builds (or finds unchanged) the shipped text-tools image and the attack-test image; their content identities. */
export function testImages(): Promise<{ textTools: string; attack: string }> {
  images ??= (async () => {
    const textTools = await buildImage('text-tools');
    const attack = await buildImage('test-attack');
    return { textTools: textTools.identity, attack: attack.identity };
  })();
  return images;
}

const baseLimits: Required<RunLimits> = {
  timeoutMs: 5000,
  memoryMb: 32,
  maxOutputBytes: 65536,
  cpus: 1,
  pids: 32,
};

export async function textTool(
  script: 'sha256sum' | 'grep',
  limits: Partial<RunLimits> = {},
): Promise<SandboxTool> {
  const { textTools } = await testImages();
  return {
    id: `text.${script}`,
    version: '1.0.0',
    runtime: 'docker',
    image: 'toolcage/text-tools',
    imageId: textTools,
    command: [`/opt/toolcage/bin/${script}.sh`],
    limits: { ...baseLimits, ...limits },
  };
}

/** A tool from the test-only attack image, e.g. attackTool('membomb.sh', ['string']). */
export async function attackTool(
  script: string,
  args: string[] = [],
  limits: Partial<RunLimits> = {},
): Promise<SandboxTool> {
  const { attack } = await testImages();
  const id = `test.${script.replace(/\.sh$/, '')}${args.map((a) => `_${a}`).join('')}`;
  return {
    id,
    version: '1.0.0',
    runtime: 'docker',
    image: 'toolcage-test/attack',
    imageId: attack,
    command: [`/opt/toolcage/bin/${script}`, ...args],
    limits: { ...baseLimits, ...limits },
  };
}

/**
 * The attack image's probe.sh as an inline script that tolerates what gVisor's /proc does not
 * report (NoNewPrivs and Seccomp lines in /proc/self/status: printed as -1 instead of failing).
 */
export async function probeTool(): Promise<SandboxTool> {
  const text = readFileSync(
    new URL('../../../sandboxes/docker/test-attack/bin/probe.sh', import.meta.url),
    'utf8',
  ).replace('"$nnp" "$seccomp"', '"${nnp:--1}" "${seccomp:--1}"');
  if (!text.includes('${nnp:--1}')) throw new Error('probe.sh changed: update probeTool()');
  return { ...(await attackTool('probe.sh')), command: ['/bin/sh', '-c', text] };
}

/** Containers on the engine that carry this runner's label. */
export async function containersOf(runnerId: string): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`${LABEL.runner}=${runnerId}`] } });
}

/** Every Docker suite ends with this: no container of its runner is left on the engine. */
export async function expectNoContainersLeft(runnerId: string): Promise<void> {
  expect(await containersOf(runnerId)).toEqual([]);
}

export function uniqueRunnerId(name: string): string {
  return `test-${name}-${process.pid}-${Date.now().toString(36)}`;
}
