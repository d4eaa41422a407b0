/**
 * A Map whose entries carry an expiry time, swept so that it stays bounded by
 * live entries. Keys are caller-chosen strings, so it is a real `Map` (no
 * prototype keys such as `__proto__` to collide with).
 *
 * Sweeping is amortised: a full pass runs when the map has doubled since the
 * last pass (and is above `minSweepSize`), so each operation is O(1) on
 * average and expired entries never outnumber live ones by more than 2x.
 */
export class ExpiringMap<V> {
  readonly #entries = new Map<string, { value: V; expiresAtMs: number }>();
  readonly #minSweepSize: number;
  #nextSweepAt: number;

  constructor(options: { minSweepSize?: number } = {}) {
    const min = options.minSweepSize ?? 1024;
    if (!Number.isInteger(min) || min < 1)
      throw new TypeError(`Expected minSweepSize to be a positive integer, got ${String(min)}`);
    this.#minSweepSize = min;
    this.#nextSweepAt = min;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The live value under `key` at `nowMs`, or undefined (an expired entry is dropped). */
  get(key: string, nowMs: number): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAtMs <= nowMs) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: V, expiresAtMs: number, nowMs: number): void {
    this.#entries.set(key, { value, expiresAtMs });
    if (this.#entries.size >= this.#nextSweepAt) this.sweep(nowMs);
  }

  /** The live entries at `nowMs`, in insertion order (read-only: nothing is dropped). */
  *live(nowMs: number): Generator<[string, V]> {
    for (const [key, entry] of this.#entries)
      if (entry.expiresAtMs > nowMs) yield [key, entry.value];
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** Drop every entry expired at `nowMs`. */
  sweep(nowMs: number): void {
    for (const [key, entry] of this.#entries)
      if (entry.expiresAtMs <= nowMs) this.#entries.delete(key);
    this.#nextSweepAt = Math.max(this.#minSweepSize, this.#entries.size * 2);
  }

  clear(): void {
    this.#entries.clear();
    this.#nextSweepAt = this.#minSweepSize;
  }
}
