/**
 * Single-use claim ids. `consume` is atomic: of any number of concurrent
 * calls with the same (iss, jti), across every process sharing the store,
 * exactly one gets `true`. Keyed on the validated claim's iss and jti, never
 * on the raw token string (two encodings of one claim are one claim).
 * Entries are remembered until `expiresAtMs` (the claim's exp + tolerance).
 */
/** What identifies a claim for replay: its issuer and id; its issue time where the store can use it. */
export interface ClaimId {
  iss: string;
  jti: string;
  iat?: number;
}

export interface ReplayStore {
  readonly kind: string;
  /**
   * `iat` (seconds), when given, lets a store refuse a claim issued before it
   * may have lost its memory (a Redis that restarted empty: `claim_state_lost`).
   */
  consume(id: ClaimId, expiresAtMs: number): Promise<boolean>;
  close(): Promise<void>;
}

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
