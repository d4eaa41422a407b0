import type { DockerApi } from './api.ts';

/**
 * Removes containers off the response path, never skipping one: each
 * removal is retried with backoff, and an id the engine would not remove
 * stays pending for the next `flush()` (dispose, start-up clean-up).
 */
export class Reaper {
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly failed = new Set<string>();
  private readonly api: DockerApi;

  constructor(api: DockerApi) {
    this.api = api;
  }

  /** Starts removing a container (kill included); resolves when it is gone or given up on for now. Idempotent. */
  remove(id: string): Promise<void> {
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

  /** Containers whose removal is running or failed so far. */
  get pending(): number {
    return this.inFlight.size + this.failed.size;
  }

  /** Waits for every removal under way, and retries the failed ones once more. */
  async flush(): Promise<void> {
    for (const id of this.failed) void this.remove(id);
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight.values()]);
  }
}
