import type { RunLimits, SandboxTool } from '../../ports/sandbox.ts';
import type { DockerApi } from './api.ts';
import { containerSpec, type BindMount } from './container-spec.ts';
import { LABEL, ownerLabels, type Owner } from './owner.ts';
import type { Reaper } from './reaper.ts';
import { prepareContainer, type WarmContainer } from './warm.ts';

/** One container to make: for a call (its invocation id, env, mounts) or for a pool (`pooled`, behind the gate). */
export interface MakeRequest {
  tool: SandboxTool;
  imageId: string;
  limits: Required<RunLimits>;
  runtime: 'runsc' | 'runc';
  /** The invocation label: the call's id, or `pooled` for a container made before its call. */
  invocation: string;
  env?: string[];
  mounts?: readonly BindMount[];
  /** Host path of the pool gate: the tool waits behind it until its call's input arrives. */
  gateHostPath?: string;
}

export interface ContainerMakerOptions {
  api: DockerApi;
  owner: Owner;
  reaper: Reaper;
  tmpfsMb: number;
  shmMb: number;
  nofile: number;
  maxStderrBytes: number;
}

/**
 * Makes started, attached, locked-down containers (see `containerSpec`)
 * labelled with their owner, invocation and tool; a half-made one goes to
 * the reaper.
 */
export function containerMaker(
  options: ContainerMakerOptions,
): (request: MakeRequest) => Promise<WarmContainer> {
  const { api, owner, reaper, tmpfsMb, shmMb, nofile, maxStderrBytes } = options;
  return (r) =>
    prepareContainer(
      api,
      containerSpec({
        runtime: r.runtime,
        imageId: r.imageId,
        command: r.tool.command as string[],
        limits: r.limits,
        labels: {
          ...ownerLabels(owner),
          [LABEL.invocation]: r.invocation,
          [LABEL.tool]: `${r.tool.id}@${r.tool.version}`,
        },
        env: r.env ?? [],
        tmpfsMb: Math.max(1, Math.min(tmpfsMb, Math.floor(r.limits.memoryMb / 2))),
        shmMb,
        nofile,
        mounts: r.mounts ?? [],
        ...(r.gateHostPath ? { gate: r.gateHostPath } : {}),
      }),
      { maxStdoutBytes: r.limits.maxOutputBytes, maxStderrBytes },
      (id) => void reaper.remove(id),
    );
}
