/**
 * A queue of runs waiting for a worker, fair by tenant: one FIFO per tenant,
 * served round-robin. A tenant with many waiting runs holds one place in the
 * rotation, never the whole queue, so another tenant's run waits behind at
 * most one run of each busy tenant (issue 16, item 3: one global FIFO let a
 * tenant's slow calls starve every other tenant).
 *
 * The rotation is the Map's insertion order: a tenant served moves to the
 * back; a tenant whose FIFO empties leaves the rotation.
 */
export class FairQueue<T> {
  /** Keyed by tenant, an attacker-chosen string: a Map, never a plain object. */
  readonly #lanes = new Map<string, T[]>();
  #size = 0;

  /** Runs waiting, all tenants. */
  get size(): number {
    return this.#size;
  }

  /** Runs waiting for one tenant. */
  sizeOf(tenant: string): number {
    return this.#lanes.get(tenant)?.length ?? 0;
  }

  push(tenant: string, item: T): void {
    const lane = this.#lanes.get(tenant);
    if (lane) lane.push(item);
    else this.#lanes.set(tenant, [item]);
    this.#size++;
  }

  /** The next run: the oldest of the tenant whose turn it is. */
  shift(): T | undefined {
    for (const [tenant, lane] of this.#lanes) {
      const item = lane.shift();
      this.#lanes.delete(tenant);
      if (lane.length > 0) this.#lanes.set(tenant, lane); // to the back of the rotation
      if (item === undefined) continue;
      this.#size--;
      return item;
    }
    return undefined;
  }

  /** Removes a waiting run (aborted or expired); false when it is no longer waiting. */
  remove(tenant: string, item: T): boolean {
    const lane = this.#lanes.get(tenant);
    const index = lane ? lane.indexOf(item) : -1;
    if (!lane || index < 0) return false;
    lane.splice(index, 1);
    if (lane.length === 0) this.#lanes.delete(tenant);
    this.#size--;
    return true;
  }

  /** Empties the queue, oldest tenant first. */
  drain(): T[] {
    const all = [...this.#lanes.values()].flat();
    this.#lanes.clear();
    this.#size = 0;
    return all;
  }
}
