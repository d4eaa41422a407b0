import type { DockerApi } from './api.ts';

export interface ReaperOptions {
  /**
   * Whether the engine is busy making pooled containers: removals handed to
   * `removeLater` wait while it is, so that the engine's work goes first to
   * the containers calls wait for. Default: never busy.
   */
  busy?: () => boolean;
  /** At most this many removals wait at once; past it the oldest starts now (default 16). */
  maxDeferred?: number;
  /** How often waiting removals look for a quiet engine, in ms (default 100). */
  pollMs?: number;
}

/**
 * Removes containers off the response path, never skipping one: each
 * removal is retried with backoff, and an id the engine would not remove
 * stays pending for the next `flush()` (dispose, start-up clean-up).
 *
 * A container that already exited (its tool ran to the end, the engine said
 * so) may wait for its removal while the engine is busy making the pool's
 * next containers (`removeLater`): it holds no process, no memory and no
 * network, only its stopped record and writable layer, and calls back to
 * back then get their containers sooner. The wait is bounded in number
 * (`maxDeferred`) and ends whenever the engine is quiet, at `flush()` and at
 * dispose; a runner killed meanwhile leaves them to the next start-up sweep,
 * like its pooled containers.
 */
export class Reaper {
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly failed = new Set<string>();
  private readonly deferred = new Set<string>();
  private readonly stopping = new Set<string>();
  private readonly api: DockerApi;
  private readonly busy: () => boolean;
  private readonly maxDeferred: number;
  private readonly pollMs: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(api: DockerApi, options: ReaperOptions = {}) {
    this.api = api;
    this.busy = options.busy ?? (() => false);
    this.maxDeferred = options.maxDeferred ?? 16;
    this.pollMs = options.pollMs ?? 100;
  }

  /** Starts removing a container (kill included); resolves when it is gone or given up on for now. Idempotent. */
  remove(id: string): Promise<void> {
    this.deferred.delete(id);
    this.stopping.delete(id);
    const existing = this.inFlight.get(id);
    if (existing) return existing;
    const attempt = (async () => {
      for (let i = 0; ; i++) {
        try {
          await this.api.remove(id);
          this.failed.delete(id);
          return;
        } catch {
          if (i >= 4) {
            this.failed.add(id);
            return;
          }
          await new Promise((r) => setTimeout(r, 50 * 2 ** i));
        }
      }
    })().finally(() => this.inFlight.delete(id));
    this.inFlight.set(id, attempt);
    return attempt;
  }

  /**
   * Removes a container that has already exited once the engine is not busy
   * making pooled containers (at once if it is not). Only for containers the
   * engine reported stopped: a running one must go through `remove`.
   */
  removeLater(id: string): void {
    if (this.inFlight.has(id)) return;
    if (!this.busy()) {
      void this.remove(id);
      return;
    }
    this.deferred.add(id);
    if (this.deferred.size > this.maxDeferred) {
      const oldest = this.deferred.values().next().value as string;
      void this.remove(oldest);
    }
    this.timer ??= setInterval(() => {
      if (this.deferred.size > 0 && this.busy()) return;
      clearInterval(this.timer);
      this.timer = undefined;
      this.release();
    }, this.pollMs);
    this.timer.unref();
  }

  /**
   * Removes a container whose call already ended while its pid 1 is exiting
   * (the gate reported a success and exits right after): once the engine
   * reports it stopped it is removed like `removeLater`; if it still runs
   * after `graceMs` (its gate was stopped by a tool that could), it is killed
   * and removed at once, as is every such container at `flush()`.
   */
  removeWhenStopped(id: string, stopped: Promise<unknown>, graceMs = 2000): void {
    if (this.inFlight.has(id) || this.stopping.has(id)) return;
    this.stopping.add(id);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), graceMs);
      timer.unref();
    });
    const exited = stopped.then(
      (r) => !(r !== null && typeof r === 'object' && 'error' in r),
      () => false,
    );
    void Promise.race([exited, late]).then((inTime) => {
      clearTimeout(timer);
      if (!this.stopping.delete(id)) return; // flushed (removed) meanwhile
      if (inTime) this.removeLater(id);
      else void this.remove(id);
    });
  }

  /** Starts every waiting removal now. */
  private release(): void {
    for (const id of [...this.deferred, ...this.stopping]) void this.remove(id);
  }

  /** Containers whose removal is waiting, running or failed so far. */
  get pending(): number {
    return this.deferred.size + this.stopping.size + this.inFlight.size + this.failed.size;
  }

  /** Starts the waiting removals, waits for every removal under way, and retries the failed ones once more. */
  async flush(): Promise<void> {
    this.release();
    for (const id of this.failed) void this.remove(id);
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight.values()]);
  }
}
