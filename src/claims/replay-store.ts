import type { ReplayStore } from '../ports/stores.ts';

export type { ReplayStore };

/** In-memory twin, for unit tests only: it is neither durable nor shared. */
export class MemoryReplayStore implements ReplayStore {
  readonly kind = 'memory';
  readonly #seen = new Map<string, number>();

  async consume(
    id: { iss: string; jti: string },
    expiresAtMs: number,
    nowMs = Date.now(),
  ): Promise<boolean> {
    this.#sweep(nowMs);
    const key = JSON.stringify([id.iss, id.jti]);
    const until = this.#seen.get(key);
    if (until !== undefined && until > nowMs) return false;
    this.#seen.set(key, expiresAtMs);
    return true;
  }

  #sweep(nowMs: number): void {
    if (this.#seen.size < 10_000) return;
    for (const [k, until] of this.#seen) if (until <= nowMs) this.#seen.delete(k);
  }

  async close(): Promise<void> {
    this.#seen.clear();
  }
}
