import type { ErrorCode } from '../errors/catalogue.ts';
import type { TransportHintKind } from '../errors/toolcage-error.ts';

/** The hard limits a manifest sets for one run. Every field is required and positive: zero never means "unlimited". */
export interface RunLimits {
  timeoutMs: number;
  memoryMb: number;
  maxOutputBytes: number;
  /** Docker only: CPU quota in cores (e.g. 0.5). */
  cpus?: number;
  /** Docker only: max processes/threads in the container. */
  pids?: number;
}

/** What a backend needs to know of the tool: nothing it could use to reach the registry or the host. */
export interface SandboxTool {
  id: string;
  version: string;
  runtime: 'js' | 'docker';
  limits: RunLimits;
  /** js: the exact entry bytes the registry hashed (never re-read from disk). */
  source?: string;
  /** js: a stable key for caching compiled code, e.g. the artifact hash. */
  sourceHash?: string;
  /** docker: image reference and the pinned content identity. */
  image?: string;
  imageId?: string;
  command?: string[];
  /** docker: `gvisor` requires the gVisor runtime (runsc); such a tool is refused where it is missing, never downgraded. */
  isolation?: 'gvisor';
}

/** A credential handed into one run (its value never leaves the runner's memory except into this sandbox). */
export interface RunCredential {
  lane: string;
  as: string;
  value: string;
  /**
   * How the manifest exposes it (`expose: egress` lanes never reach a backend).
   * Docker: `file` is /run/secrets/<as> in a tmpfs, `env` (and absent) an
   * environment variable. JS: both are `ctx.credentials[as]`.
   */
  expose?: 'file' | 'env';
}

export interface RunRequest {
  invocationId: string;
  tool: SandboxTool;
  /** The validated input, a plain JSON value. Backends copy it into the sandbox; they never hand a host reference. */
  input: unknown;
  /** Credentials the tool may see (`ctx.credentials` for JS, env/file for Docker). */
  credentials?: RunCredential[];
  /** The claim's tenant: a backend that queues runs serves tenants fairly by it. Absent: one shared lane. */
  tenant?: string;
  /**
   * Called once, when the run leaves the backend's queue and starts (only by
   * backends with `signalsStart`). Queue time is not the tool's: the caller
   * counts the run's deadline from here.
   */
  onStart?: () => void;
}

export type RunFailureCode = Extract<
  ErrorCode,
  'timeout' | 'memory_limit' | 'sandbox_failed' | 'output_too_large' | 'sandbox_unavailable'
>;

export type RunResult =
  | {
      ok: true;
      /** The tool's output serialised as JSON text, at most `limits.maxOutputBytes` bytes (UTF-8). */
      outputJson: string;
      durationMs: number;
      /** Docker: the OCI runtime the call ran on (`runsc`, `runc`), for the audit line. */
      runtime?: string;
      /** Docker: capped stderr, for the audit line and diagnostics only, never returned to the agent. */
      stderr?: string;
    }
  | {
      ok: false;
      code: RunFailureCode;
      /** Short, sanitised, for a person: never raw tool output. */
      message: string;
      /** The operator's next step, named by each adapter in its own words (e.g. build the images). */
      hint?: TransportHintKind;
      durationMs: number;
      stderr?: string;
      /** `sandbox_unavailable` from overload: seconds after which a retry may find a free sandbox. */
      retryAfterSeconds?: number;
      /** Docker: the OCI runtime the call ran (or was to run) on. */
      runtime?: string;
    };

/** What a backend says of itself for readiness (`/readyz`, `toolcage status`). */
export interface BackendHealth {
  usable: boolean;
  detail: string;
  /** Still being made while the service listens: readiness waits for it (src/runtime/deferred-backend.ts). */
  starting?: boolean;
  /** Docker: the OCI runtime tools run on by default, and every runtime the engine has registered. */
  runtime?: { default: string; registered: string[]; gvisor: boolean };
}

/**
 * A sandbox that runs one tool call with hard limits. A tool that fails
 * returns a failed result; only a bad call (wrong runtime, disposed backend)
 * throws. `run` must never leave state behind that a later call could see.
 */
export interface SandboxBackend {
  readonly kind: 'js' | 'docker';
  /** True when the backend queues runs and calls `request.onStart` as each one starts. */
  readonly signalsStart?: boolean;
  run(request: RunRequest, signal?: AbortSignal): Promise<RunResult>;
  /** Whether the backend can run tools now (engine reachable, workers up). */
  health(): Promise<BackendHealth>;
  dispose(): Promise<void>;
}
