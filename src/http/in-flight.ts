/**
 * The runs an HTTP service has in progress, so that shutdown can wait for
 * them up to a deadline and then abort the rest.
 */
export class InFlight {
  readonly #controllers = new Set<AbortController>();
  #idle: (() => void)[] = [];

  get size(): number {
    return this.#controllers.size;
  }

  /** A controller for one run; `done` must be called when the run settles. */
  start(): { signal: AbortSignal; abort(reason?: unknown): void; done(): void } {
    const controller = new AbortController();
    this.#controllers.add(controller);
    return {
      signal: controller.signal,
      abort: (reason) => controller.abort(reason),
      done: () => {
        this.#controllers.delete(controller);
        if (this.#controllers.size === 0) for (const resolve of this.#idle.splice(0)) resolve();
      },
    };
  }

  /** Resolves true when every run has settled, false when `ms` passed first. */
  async waitIdle(ms: number): Promise<boolean> {
    if (this.#controllers.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<boolean>((resolve) => this.#idle.push(() => resolve(true)));
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    try {
      return await Promise.race([idle, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  abortAll(reason: unknown): void {
    for (const c of this.#controllers) c.abort(reason);
  }
}
