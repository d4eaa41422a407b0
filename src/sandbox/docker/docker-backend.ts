import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import type {
  RunLimits,
  RunRequest,
  RunResult,
  SandboxBackend,
  SandboxTool,
} from '../../ports/sandbox.ts';
import { ToolcageError } from '../../errors/toolcage-error.ts';
import { dockerodeApi, isEngineUnreachable } from './api.ts';
import { classify } from './classify.ts';
import { CallMountError, prepareCallMounts, type CallMounts } from './call-mounts.ts';
import { containerMaker } from './container-maker.ts';
import { sweepHostLeftovers } from './host-sweep.ts';
import { ImageVerifier } from './image-verify.ts';
import { EngineMonitor } from './engine-monitor.ts';
import { RuntimeChooser } from './runtime-choice.ts';
import { checkTool, resolveOptions, type DockerBackendOptions } from './options.ts';
import { DEFAULT_SOCKET_PATH } from './build/images.ts';
import { currentOwner, isOrphan, LABEL, type Owner } from './owner.ts';
import type { ToolPoolState } from './pool.ts';
import { ToolPools } from './tool-pools.ts';
import { dockerHealth } from './health.ts';
import { Reaper } from './reaper.ts';
import { callContainer, type WarmContainer } from './warm.ts';

export type { DockerBackendOptions } from './options.ts';

export interface DockerPoolState {
  size: number;
  idleMs: number;
  tools: ToolPoolState[];
  /** Calls running now. */
  inFlight: number;
  /** Containers whose removal waits for a quiet engine (at most 16), is under way or is being retried. */
  pendingRemovals: number;
  /** Why there is no pool although `size` > 0: the pool gate could not be loaded or built. */
  gateError?: string;
}

export interface DockerBackend extends SandboxBackend {
  readonly kind: 'docker';
  readonly runnerId: string;
  /** The engine endpoint tried, e.g. `unix:///var/run/docker.sock`. */
  readonly endpoint: string;
  poolState(): DockerPoolState;
  /** Removes every toolcage container no live runner owns; resolves to how many were removed. */
  cleanupOrphans(): Promise<number>;
  /** Resolves when the start-up clean-up is done. */
  ready(): Promise<void>;
  /** Fills a tool's pool ahead of its first call; resolves when it is filled (or failed to). */
  prewarm(tool: SandboxTool): Promise<void>;
  /** Resolves when no removal is pending: every finished container is gone from the engine. */
  whenIdle(): Promise<void>;
}

/**
 * The Docker sandbox backend: each call runs in a fresh, locked-down
 * container (see `containerSpec`) taken from a small per-tool warm pool,
 * with input on stdin and JSON output on stdout, and is removed after it.
 *
 * Construction never touches the engine, so a runner starts without one;
 * `health()` then says so and `run` answers `sandbox_unavailable` naming the
 * socket. At start-up, containers left by runners that are no longer alive
 * are removed.
 *
 * @example
 * const docker = createDockerBackend({ pool: { size: 2 } });
 * const result = await docker.run({ invocationId, tool, input: { text: 'hi' } });
 */
export function createDockerBackend(options: DockerBackendOptions = {}): DockerBackend {
  const {
    poolSize,
    idleMs,
    maxStarting,
    tmpfsMb,
    shmMb,
    nofile,
    maxStderrBytes,
    defaultCpus,
    defaultPids,
  } = resolveOptions(options);
  const api = options.api ?? dockerodeApi(options.socketPath ?? DEFAULT_SOCKET_PATH);
  const owner: Owner = currentOwner(options.runnerId ?? randomUUID());
  const active = new Map<string, AbortController>();
  // Removals of exited containers wait while the engine makes pooled containers or runs a call.
  const reaper = new Reaper(api, { busy: () => active.size > 0 || pools.busy });
  const verifier = new ImageVerifier(api);
  const chooser = new RuntimeChooser(api, options.runtime ?? 'auto');
  let disposed = false;

  const unavailable = (err: unknown): string => {
    const code = (err as { code?: unknown } | null)?.code;
    return `The Docker engine is not reachable at ${api.endpoint}${typeof code === 'string' ? ` (${code})` : ''}. Start dockerd, or point the runner at the right socket.`;
  };

  const cleanupOrphans = async (): Promise<number> => {
    const list = await api.listContainers([`${LABEL.managed}=true`]);
    const orphans = list.filter((c) => isOrphan(c.Labels, owner));
    await Promise.all(orphans.map((c) => reaper.remove(c.Id)));
    return orphans.length;
  };
  const startup: Promise<void> =
    options.cleanupOnStart === false
      ? Promise.resolve()
      : cleanupOrphans().then(
          () => undefined,
          () => undefined, // no engine yet: nothing to clean; `health()` and `run` say so.
        );
  // Secrets and egress sockets of runners killed mid-call (SIGKILL leaves them); needs no engine.
  if (options.cleanupOnStart !== false)
    sweepHostLeftovers({
      secretsRoot: options.secretsDir ?? '/dev/shm',
      tmp: tmpdir(),
      self: owner,
    });

  const limitsOf = (limits: RunLimits): Required<RunLimits> => ({
    timeoutMs: limits.timeoutMs,
    memoryMb: limits.memoryMb,
    maxOutputBytes: limits.maxOutputBytes,
    cpus: limits.cpus ?? defaultCpus,
    pids: limits.pids ?? defaultPids,
  });

  const verifiedImage = (tool: SandboxTool) => verifier.verify(tool);

  const prepare = containerMaker({
    api,
    owner,
    reaper,
    tmpfsMb,
    shmMb,
    nofile,
    maxStderrBytes,
  });

  const pools = new ToolPools({
    size: poolSize,
    maxStarting,
    idleMs,
    ...(options.gatePath ? { gatePath: options.gatePath } : {}),
    // Pooled containers are made before their call is known: the invocation label says `pooled`, the audit line names the container.
    make: (key, gateHostPath) => prepare({ ...key, invocation: 'pooled', gateHostPath }),
    discard: (warm) => {
      warm.stream.destroy();
      void reaper.remove(warm.id);
    },
  });

  /** A pooled container is handed out only if it still runs and its attach stream is open. */
  const isLive = async (warm: WarmContainer): Promise<boolean> => {
    if (warm.stream.destroyed || warm.stream.readableEnded) return false;
    const info = await api.inspectContainer(warm.id).catch((err: unknown) => {
      if (isEngineUnreachable(err)) throw err;
      return undefined; // 404: removed behind our back
    });
    return info?.State.Running === true;
  };

  const monitor = new EngineMonitor({
    ping: (ms) => api.ping(ms),
    busy: () => active.size > 0,
    onLost: (error) => {
      for (const controller of active.values()) controller.abort(error);
      pools.drainAll();
    },
    // Removals that failed while it was down are retried now.
    onBack: () => {
      chooser.forget();
      void reaper.flush();
    },
  });

  const run = async (request: RunRequest, signal?: AbortSignal): Promise<RunResult> => {
    if (disposed) throw new Error('The Docker backend was disposed; create a new one.');
    checkTool(request?.tool);
    const started = performance.now();
    const durationMs = (): number => Math.round(performance.now() - started);
    const tool = request.tool;
    const limits = limitsOf(tool.limits);
    const controller = new AbortController();
    const onAbort = (): void => controller.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) controller.abort();
    const key = `${request.invocationId}:${randomUUID()}`;
    active.set(key, controller);
    let containerId: string | undefined;
    /**
     * `engine`: the engine said the container stopped, its removal may wait for a quiet engine;
     * `gate`: the gate said the tool succeeded and the container is stopping, removed once it stopped.
     */
    let ended: 'engine' | 'gate' | undefined;
    let stoppedSignal: Promise<unknown> | undefined;
    let runtime: 'runsc' | 'runc' | undefined;
    // The egress session's deadline is the run's own timeout counted from now, so it never outlives the call.
    const session = options.egress?.open(
      { invocationId: request.invocationId, tool },
      Date.now() + limits.timeoutMs,
    );
    let call: CallMounts | undefined;
    try {
      await startup;
      const image = await verifiedImage(tool);
      if (!('imageId' in image))
        return {
          ok: false,
          code: image.code,
          message: image.message,
          hint: image.hint,
          durationMs: durationMs(),
        };
      const choice = await chooser.choose(tool);
      if (!('runtime' in choice))
        return { ok: false, code: choice.code, message: choice.message, durationMs: durationMs() };
      runtime = choice.runtime;
      const credentials = request.credentials ?? [];
      const env = credentials.filter((c) => c.expose !== 'file').map((c) => `${c.as}=${c.value}`);
      // A credential or an egress socket is for one call: such calls never use a container made ahead of them.
      const perCall = credentials.length > 0 || session !== undefined;
      if (perCall)
        call = await prepareCallMounts({
          session,
          credentials,
          owner,
          ...(options.secretsDir ? { secretsRoot: options.secretsDir } : {}),
        });
      const pool = perCall
        ? undefined
        : pools.poolFor({ tool, imageId: image.imageId, limits, runtime });
      const warm =
        (await pool?.take(isLive)) ??
        (await prepare({
          tool,
          imageId: image.imageId,
          limits,
          runtime,
          invocation: request.invocationId,
          env: [...env, ...(call?.env ?? [])],
          mounts: call?.mounts ?? [],
        }));
      containerId = warm.id;
      const input = Buffer.from(`${JSON.stringify(request.input)}\n`, 'utf8');
      const outcome = await callContainer(warm, {
        input,
        timeoutMs: limits.timeoutMs,
        signal: controller.signal,
        stop: (id) => reaper.remove(id),
        // `docker top` does not see inside a gVisor sandbox (here it lists the host's processes).
        ...(runtime === 'runc' ? { probePids: (id: string) => api.pidsCurrent(id) } : {}),
      });
      if (outcome.kind === 'exited') {
        ended = outcome.by;
        stoppedSignal = warm.exited;
      }
      return {
        ...(await classify(outcome, {
          limits,
          durationMs,
          inspect: async () => (await api.inspectContainer(warm.id).catch(() => undefined))?.State,
        })),
        runtime,
      };
    } catch (err) {
      if (err instanceof CallMountError)
        return {
          ok: false,
          code: 'sandbox_unavailable',
          message: err.message,
          durationMs: durationMs(),
        };
      if (isEngineUnreachable(err))
        return {
          ok: false,
          code: 'sandbox_unavailable',
          message: unavailable(err),
          durationMs: durationMs(),
        };
      const status = (err as { statusCode?: unknown } | null)?.statusCode;
      return {
        ok: false,
        code: 'sandbox_failed',
        message: `The Docker engine refused the container${typeof status === 'number' ? ` (HTTP ${status})` : ''}.`,
        durationMs: durationMs(),
      };
    } finally {
      signal?.removeEventListener('abort', onAbort);
      active.delete(key);
      // Off the response path, never skipped.
      if (containerId !== undefined) {
        if (ended === 'engine') reaper.removeLater(containerId);
        else if (ended === 'gate' && stoppedSignal)
          reaper.removeWhenStopped(containerId, stoppedSignal);
        else void reaper.remove(containerId);
      }
      // The call is over: its proxy stops (the session with it) and its file credentials leave the host's tmpfs.
      if (call) await call.close();
      else session?.close();
    }
  };

  return {
    kind: 'docker',
    runnerId: owner.runnerId,
    endpoint: api.endpoint,
    run,
    health: () => dockerHealth(api, chooser, unavailable),
    poolState() {
      const now = Date.now();
      return {
        size: poolSize,
        idleMs,
        tools: pools.states(now),
        inFlight: active.size,
        pendingRemovals: reaper.pending,
        ...(pools.gateError !== undefined ? { gateError: pools.gateError } : {}),
      };
    },
    cleanupOrphans,
    ready: () => startup,
    async prewarm(tool) {
      checkTool(tool);
      const image = await verifiedImage(tool);
      if (!('imageId' in image))
        throw new ToolcageError(image.code, { message: image.message, hint: image.hint });
      const choice = await chooser.choose(tool);
      if (!('runtime' in choice)) throw new Error(choice.message);
      const pool = pools.poolFor({
        tool,
        imageId: image.imageId,
        limits: limitsOf(tool.limits),
        runtime: choice.runtime,
      });
      pool?.refill();
      await pool?.settled();
    },
    whenIdle: () => reaper.flush(),
    async dispose() {
      if (disposed) return;
      disposed = true;
      monitor.stop();
      for (const controller of active.values()) controller.abort();
      await pools.close();
      while (active.size > 0) await new Promise((r) => setTimeout(r, 10));
      await reaper.flush();
    },
  };
}
