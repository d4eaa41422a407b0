import { ToolcageError } from '../errors/toolcage-error.ts';
import type { BackendHealth, RunRequest, RunResult, SandboxBackend } from '../ports/sandbox.ts';

/**
 * A sandbox backend that is still being made (its modules loading, its engine
 * being probed) while the service already listens. It stands in the runner's
 * backend map from the start, so nothing has to look the backend up again:
 *
 * - `run` waits for the backend, then runs on it; the wait is queueing, not
 *   the tool's time (`signalsStart`: the run's deadline starts when the real
 *   backend takes it). A backend that could not be made refuses the run as
 *   `sandbox_unavailable` with a retry delay; nothing throws past the caller.
 * - `health` says `starting` (and `usable: false`) until the backend exists,
 *   then is the backend's own; readiness stays false while any backend starts.
 * - `dispose` waits for the backend and disposes it, so nothing it made (warm
 *   containers, sockets) outlives the runner, even one stopped mid-start.
 */
export class DeferredBackend<B extends SandboxBackend = SandboxBackend> implements SandboxBackend {
  readonly kind: SandboxBackend['kind'];
  readonly signalsStart = true;
  readonly #made: Promise<B>;
  #backend: B | undefined;
  #failure: Error | undefined;

  constructor(options: { kind: SandboxBackend['kind']; make: () => Promise<B> }) {
    this.kind = options.kind;
    this.#made = options.make();
    this.#made.then(
      (b) => (this.#backend = b),
      (err: unknown) => (this.#failure = err as Error),
    );
  }

  /** The backend once made (undefined while starting or when it could not be made). */
  get current(): B | undefined {
    return this.#backend;
  }

  /** Resolves once the backend is made or has failed to be (never rejects). */
  settled(): Promise<void> {
    return this.#made.then(
      () => undefined,
      () => undefined,
    );
  }

  async run(request: RunRequest, signal?: AbortSignal): Promise<RunResult> {
    const backend = this.#backend ?? (await this.#wait(signal));
    if (backend.signalsStart !== true) request.onStart?.();
    return backend.run(request, signal);
  }

  async #wait(signal: AbortSignal | undefined): Promise<B> {
    signal?.throwIfAborted();
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal!.reason as Error);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([this.#made, aborted]);
    } catch (cause) {
      if (signal?.aborted) throw cause;
      throw new ToolcageError('sandbox_unavailable', {
        message: `The ${this.kind} sandbox backend could not start (${(cause as Error).message}); retry later.`,
        retryAfterSeconds: 1,
        cause,
      });
    } finally {
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
  }

  async health(): Promise<BackendHealth> {
    if (this.#backend) return this.#backend.health();
    if (this.#failure)
      return { usable: false, detail: `could not start: ${this.#failure.message}` };
    return { usable: false, detail: 'starting', starting: true };
  }

  async dispose(): Promise<void> {
    const backend = await this.#made.catch(() => undefined);
    await backend?.dispose();
  }
}
