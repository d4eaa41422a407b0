import type { RunLimits } from '../../ports/sandbox.ts';
import type { ContainerSpec } from './api.ts';
import { CONTAINER_GATE_PATH } from './build/gate.ts';

/** The non-root identity every tool runs as (the images' /etc/passwd names it `tool`). */
export const TOOL_UID = 65532;

export interface SpecInput {
  /** The engine's image id (sha256:…), verified against the pinned identity; never a tag that could move. */
  imageId: string;
  command: string[];
  limits: Required<RunLimits>;
  labels: Record<string, string>;
  /** `NAME=value` pairs (credentials). */
  env: string[];
  /** Size of the /tmp tmpfs in MiB. */
  tmpfsMb: number;
  /** Size of /dev/shm in MiB. */
  shmMb: number;
  /** RLIMIT_NOFILE. */
  nofile: number;
  /**
   * Host paths bound into this one call's container: only the run's egress
   * socket and its file-credentials folder (see `docker-backend.ts`). Never
   * set for pooled containers, which are made before their call is known.
   */
  mounts?: readonly BindMount[];
  /**
   * Host path of the pool gate (see `gate.ts`). Set for pooled containers:
   * the gate is the entrypoint and pid 1, bound read-only, and runs
   * `command` only once the call's input arrives, so no tool code runs
   * before the call; it reports a success on its own (see `trailer.ts`).
   */
  gate?: string;
  /**
   * The OCI runtime. Under `runsc` (gVisor) the engine's pids limit breaks
   * sandbox creation (this runsc: "cannot read client sync file"), so the
   * process limit is RLIMIT_NPROC instead, counted by gVisor's own kernel
   * for this sandbox alone. Under runc it stays the cgroup pids limit:
   * RLIMIT_NPROC there would count every process of the tool uid on the
   * host, across all tools' containers.
   */
  runtime?: 'runsc' | 'runc';
}

/** One bind mount of a host path the runner made for this call. */
export interface BindMount {
  /** Absolute host path. */
  source: string;
  /** Absolute path inside the container. */
  target: string;
  readOnly: boolean;
}

/**
 * The locked-down container for one tool call. Every setting here is a
 * security property the README lists; change none without changing both.
 *
 * - no network: `NetworkMode: none` leaves only `lo` in the namespace;
 * - read-only root; the only writable places are a size-capped `noexec`
 *   tmpfs at /tmp and a small /dev/shm;
 * - all capabilities dropped, `no-new-privileges` (setuid bits are inert),
 *   the engine's default seccomp profile (no `seccomp=unconfined` here);
 * - a non-root uid:gid, private IPC and cgroup namespaces, no host devices
 *   beyond the engine's defaults (null, zero, random, …), no host mounts
 *   except the call's own `mounts` (its egress socket, its secrets folder),
 *   bound read-only and private (no propagation);
 * - tini as pid 1 (`Init`), so the tool's children are reaped and a signal
 *   ends the whole tree; in a pooled container the gate is pid 1 instead:
 *   it forks the tool only when the call's input arrives, reaps, and its
 *   exit ends the whole tree the same way;
 * - no healthcheck and no other config taken from the image (its config
 *   must be empty to pass verification);
 * - pids, memory (swap equal to memory: no swap), CPU quota, open files and
 *   file size limits; the OOM score set so that on host memory pressure
 *   the kernel picks tool processes first;
 * - no log driver: output only goes to the attached runner, never to disk.
 */
export function containerSpec(input: SpecInput): ContainerSpec {
  const memoryBytes = input.limits.memoryMb * 1024 * 1024;
  const tmpfsBytes = input.tmpfsMb * 1024 * 1024;
  return {
    Image: input.imageId,
    Entrypoint: input.gate ? [CONTAINER_GATE_PATH] : [],
    Cmd: input.command,
    User: `${TOOL_UID}:${TOOL_UID}`,
    Env: ['PATH=/bin:/usr/bin', 'HOME=/tmp', 'LANG=C.UTF-8', ...input.env],
    WorkingDir: '/tmp',
    Labels: input.labels,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: true,
    StdinOnce: true,
    Tty: false,
    NetworkDisabled: false,
    StopTimeout: 0,
    // The image's own config is refused unless empty (see image-verify.ts); these also neutralise it.
    Healthcheck: { Test: ['NONE'] },
    StopSignal: 'SIGKILL',
    HostConfig: {
      NetworkMode: 'none',
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': `rw,noexec,nosuid,nodev,size=${tmpfsBytes},mode=1777` },
      ShmSize: input.shmMb * 1024 * 1024,
      CapDrop: ['ALL'],
      CapAdd: [],
      SecurityOpt: ['no-new-privileges:true'],
      Privileged: false,
      IpcMode: 'private',
      CgroupnsMode: 'private',
      PidMode: '',
      UTSMode: '',
      Binds: [],
      Mounts: [
        ...(input.mounts ?? []),
        ...(input.gate
          ? [{ source: input.gate, target: CONTAINER_GATE_PATH, readOnly: true }]
          : []),
      ].map((m) => ({
        Type: 'bind',
        Source: m.source,
        Target: m.target,
        ReadOnly: m.readOnly,
        BindOptions: { Propagation: 'rprivate' },
      })),
      Devices: [],
      // The pool gate is its container's init (it reaps, and its exit ends the namespace); tini elsewhere.
      Init: !input.gate,
      Runtime: input.runtime ?? 'runc',
      ...(input.runtime === 'runsc' ? {} : { PidsLimit: input.limits.pids }),
      Memory: memoryBytes,
      MemorySwap: memoryBytes,
      OomKillDisable: false,
      OomScoreAdj: 1000,
      NanoCpus: Math.round(input.limits.cpus * 1e9),
      Ulimits: [
        { Name: 'nofile', Soft: input.nofile, Hard: input.nofile },
        { Name: 'fsize', Soft: tmpfsBytes, Hard: tmpfsBytes },
        { Name: 'core', Soft: 0, Hard: 0 },
        ...(input.runtime === 'runsc'
          ? [{ Name: 'nproc', Soft: input.limits.pids, Hard: input.limits.pids }]
          : []),
      ],
      LogConfig: { Type: 'none', Config: {} },
      RestartPolicy: { Name: 'no' },
      AutoRemove: false,
      PublishAllPorts: false,
    },
  };
}
