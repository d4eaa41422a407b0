import type { EgressGateway } from '../../egress/gateway.ts';
import type { SandboxTool } from '../../ports/sandbox.ts';
import type { DockerApi } from './api.ts';
import type { RuntimeSetting } from './runtime-choice.ts';

export interface DockerBackendOptions {
  /** The engine's unix socket. Default `/var/run/docker.sock`. */
  socketPath?: string;
  /** An explicit engine API (a fake in unit tests); wins over `socketPath`. */
  api?: DockerApi;
  /** This runner instance's id, put on every container it makes. Default: a random UUID. `[A-Za-z0-9_.-]{1,64}`. */
  runnerId?: string;
  /**
   * The warm pool, per tool: `size` started containers waiting for a call
   * (0 turns the pool off: every call creates its own); a tool's pool is
   * emptied after `idleMs` without calls (default 60 000) and refilled on
   * its next call. Default `{ size: 2, idleMs: 60000 }`.
   *
   * `maxStarting` caps the containers one tool's pool makes at once (the
   * engine's parallel ceiling: past it, parallel starts only slow each
   * other and the calls running beside them; `bench/docker-phases.ts`
   * measures it). Calls that find the pool empty wait for the next one made
   * instead of making their own. Default `max(size, 8)`; below `size` the
   * pool fills in waves.
   */
  pool?: { size: number; idleMs?: number; maxStarting?: number };
  /** Size cap of the /tmp tmpfs in MiB (default 8), never more than half the tool's memory limit. */
  tmpfsMb?: number;
  /** Size of /dev/shm in MiB (default 1). */
  shmMb?: number;
  /** RLIMIT_NOFILE inside (default 64). */
  nofile?: number;
  /** How much stderr is kept for the audit line (default 8192 bytes); the rest is dropped. */
  maxStderrBytes?: number;
  /** Used when a tool's limits omit them: CPU cores (default 1) and max processes (default 64). */
  defaultCpus?: number;
  defaultPids?: number;
  /** Remove orphaned toolcage containers, and dead runners' secrets and egress folders, at start-up (default true). */
  cleanupOnStart?: boolean;
  /**
   * The egress boundary for tools that declare `network: { egress }`: each
   * such call gets its own socket proxy, bound into its container at
   * `/run/toolcage/egress.sock` (`TOOLCAGE_EGRESS_SOCKET`). The container
   * keeps `NetworkMode: none`. Without it those tools have no way out.
   */
  egress?: EgressGateway;
  /**
   * A tmpfs folder (never on disk) for `expose: file` credentials: each such
   * call gets a private folder in it, bound read-only at `/run/secrets` and
   * removed when the call ends. Default `/dev/shm`.
   */
  secretsDir?: string;
  /**
   * Host path of the pool gate binary (built by `toolcage images build`;
   * built on first use when missing). Default
   * `sandboxes/docker/gate/build/toolcage-gate-2` in the package.
   */
  gatePath?: string;
  /**
   * The OCI runtime for tools (see `runtime-choice.ts`): `auto` (default)
   * runs them under gVisor's `runsc` where the engine has it, `runc`
   * otherwise; `runsc` requires it; `runc` turns gVisor off (tools whose
   * manifest requires gVisor still get it, or are refused).
   */
  runtime?: RuntimeSetting;
}

/** The numeric settings, checked and defaulted. */
export interface ResolvedOptions {
  poolSize: number;
  idleMs: number;
  maxStarting: number;
  tmpfsMb: number;
  shmMb: number;
  nofile: number;
  maxStderrBytes: number;
  defaultCpus: number;
  defaultPids: number;
}

/**
 * The default cap on containers one pool makes at once. On a 2-core host
 * (bench/docker-phases.ts) lifecycles/s stop rising at about two starts per
 * core; but with many calls in flight, those beyond the cap make their own
 * containers, started after the pool's, so a low cap turns waits into later
 * starts, and a cap of 4 showed no gain over 8 in the bench (8 in flight:
 * 2.4-3.7 calls/s at 4, 3.3 at 8, on a shared machine).
 */
const DEFAULT_MAX_STARTING = 8;

const RUNNER_ID = /^[A-Za-z0-9_.-]{1,64}$/;

export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}

function intOption(
  name: string,
  value: unknown,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new TypeError(
      `Expected ${name} to be an integer from ${min} to ${max}, got ${describe(value)}`,
    );
  }
  return value;
}

function positive(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
    throw new TypeError(`Expected ${name} to be a positive number, got ${describe(value)}`);
  return value;
}

/** Checks every option once, at construction ("Expected X, got Y" TypeErrors), and fills defaults. */
export function resolveOptions(options: DockerBackendOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object')
    throw new TypeError(`Expected options to be an object, got ${describe(options)}`);
  if (
    options.socketPath !== undefined &&
    (typeof options.socketPath !== 'string' || !options.socketPath.startsWith('/'))
  ) {
    throw new TypeError(
      `Expected options.socketPath to be an absolute path, got ${describe(options.socketPath)}`,
    );
  }
  if (
    options.runnerId !== undefined &&
    (typeof options.runnerId !== 'string' || !RUNNER_ID.test(options.runnerId))
  ) {
    throw new TypeError(
      `Expected options.runnerId to match ${RUNNER_ID}, got ${describe(options.runnerId)}`,
    );
  }
  if (options.pool !== undefined && (options.pool === null || typeof options.pool !== 'object')) {
    throw new TypeError(
      `Expected options.pool to be an object like { size: 2, idleMs: 60000 }, got ${describe(options.pool)}`,
    );
  }
  const poolSize = intOption('options.pool.size', options.pool?.size, 2, 0, 64);
  const idleMs = intOption('options.pool.idleMs', options.pool?.idleMs, 60_000, 100, 86_400_000);
  const maxStarting = intOption(
    'options.pool.maxStarting',
    options.pool?.maxStarting,
    Math.max(poolSize, DEFAULT_MAX_STARTING),
    1,
    256,
  );
  const tmpfsMb = intOption('options.tmpfsMb', options.tmpfsMb, 8, 1, 1024);
  const shmMb = intOption('options.shmMb', options.shmMb, 1, 1, 64);
  const nofile = intOption('options.nofile', options.nofile, 64, 16, 65_536);
  const maxStderrBytes = intOption(
    'options.maxStderrBytes',
    options.maxStderrBytes,
    8192,
    0,
    1_048_576,
  );
  const defaultCpus = positive('options.defaultCpus', options.defaultCpus, 1);
  const defaultPids = intOption('options.defaultPids', options.defaultPids, 64, 4, 4096);
  if (
    options.secretsDir !== undefined &&
    (typeof options.secretsDir !== 'string' || !options.secretsDir.startsWith('/'))
  ) {
    throw new TypeError(
      `Expected options.secretsDir to be an absolute path, got ${describe(options.secretsDir)}`,
    );
  }
  if (
    options.egress !== undefined &&
    typeof (options.egress as Partial<EgressGateway> | null)?.open !== 'function'
  ) {
    throw new TypeError(
      `Expected options.egress to be an EgressGateway, got ${describe(options.egress)}`,
    );
  }

  if (options.runtime !== undefined && !['auto', 'runsc', 'runc'].includes(options.runtime))
    throw new TypeError(
      `Expected options.runtime to be 'auto', 'runsc' or 'runc', got ${describe(options.runtime)}`,
    );
  return {
    poolSize,
    idleMs,
    maxStarting,
    tmpfsMb,
    shmMb,
    nofile,
    maxStderrBytes,
    defaultCpus,
    defaultPids,
  };
}

/** Throws a TypeError naming the field when a tool is not a runnable Docker tool (a bad call, not a refusal). */
export function checkTool(tool: SandboxTool): void {
  if (tool?.runtime !== 'docker')
    throw new TypeError(`Expected a docker tool, got runtime ${describe(tool?.runtime)}`);
  if (typeof tool.image !== 'string' || tool.image === '')
    throw new TypeError(`Expected tool.image to be an image name, got ${describe(tool.image)}`);
  if (typeof tool.imageId !== 'string' || !/^[0-9a-f]{64}$/.test(tool.imageId))
    throw new TypeError(
      `Expected tool.imageId to be the pinned content identity (64 hex digits), got ${describe(tool.imageId)}`,
    );
  if (
    !Array.isArray(tool.command) ||
    tool.command.length === 0 ||
    !tool.command.every((a) => typeof a === 'string')
  ) {
    throw new TypeError(
      `Expected tool.command to be a non-empty array of strings, got ${describe(tool.command)}`,
    );
  }
  const l = tool.limits;
  for (const k of ['timeoutMs', 'memoryMb', 'maxOutputBytes'] as const) {
    if (typeof l?.[k] !== 'number' || !(l[k] > 0))
      throw new TypeError(
        `Expected tool.limits.${k} to be a positive number, got ${describe(l?.[k])}`,
      );
  }
  if (l.memoryMb < 6)
    throw new TypeError(
      `Expected tool.limits.memoryMb to be at least 6 (the engine's minimum), got ${l.memoryMb}`,
    );
  if (l.cpus !== undefined && !(l.cpus > 0))
    throw new TypeError(
      `Expected tool.limits.cpus to be a positive number, got ${describe(l.cpus)}`,
    );
  if (l.pids !== undefined && !(Number.isInteger(l.pids) && l.pids >= 2))
    throw new TypeError(
      `Expected tool.limits.pids to be an integer of at least 2, got ${describe(l.pids)}`,
    );
}
