import type { WarmContainer } from './warm.ts';

/** What a pool shows of itself (readiness, metrics). */
export interface ToolPoolState {
  /** `tool.id@version`. */
  tool: string;
  /** Started containers waiting for a call. */
  ready: number;
  /** Containers being created and started. */
  filling: number;
  /** Set when pooled containers kept exiting before use (the tool does not block on stdin): calls go cold. */
  disabled: boolean;
  idleForMs: number;
}

export interface ToolPoolOptions {
  tool: string;
  size: number;
  /**
   * At most this many containers being made at once: the engine's parallel
   * ceiling, past which parallel starts only slow each other (and the calls
   * running beside them). May be below `size`: the pool then fills in waves.
   */
  maxStarting: number;
  make: () => Promise<WarmContainer>;
  /** Hands a container that will not be used to the reaper. */
  discard: (warm: WarmContainer) => void;
}

/**
 * A per-tool pool of started containers, each blocked reading stdin and
 * used for exactly one call, then removed (fresh state per call). Refilled
 * in the background after every take, every missing container at once (the
 * engine runs the creations in parallel). Invariant: every container this
 * pool ever made is either handed out by `take()` or passed to `discard`.
 *
 * Back to back, the engine's lifecycle throughput is the limit: a caller that
 * finds the pool empty while containers are being made (more than callers
 * already wait for) waits for the next of them rather than making one more,
 * which would arrive later, being started later, and would add a lifecycle
 * to an engine that is already the bottleneck. Each waiting caller raises the
 * refill target by one, up to `maxStarting` being made at once.
 */
export class ToolPool {
  private readonly ready: WarmContainer[] = [];
  private filling = 0;
  private closed = false;
  private earlyExits = 0;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private lastUsed = Date.now();
  /** Callers waiting for the next container made (first come, first served). */
  private readonly waiters: Array<(warm: WarmContainer | undefined) => void> = [];
  private readonly options: ToolPoolOptions;

  constructor(options: ToolPoolOptions) {
    this.options = options;
  }

  /**
   * A ready container for one call, or undefined (the caller goes cold).
   * Each candidate is checked with `isLive` first (it still runs on the
   * engine: not killed by an engine restart, the OOM killer or an external
   * `docker rm`); dead ones are discarded, never handed out. Triggers a
   * refill either way. Rejects when the check cannot reach the engine.
   */
  async take(
    isLive: (warm: WarmContainer) => Promise<boolean>,
  ): Promise<WarmContainer | undefined> {
    this.lastUsed = Date.now();
    try {
      // One wait per call at most: a container that arrives dead sends the call cold.
      let waited = false;
      for (;;) {
        let warm = this.ready.shift();
        if (!warm && !waited) {
          waited = true;
          warm = await this.next();
        }
        if (!warm) break;
        if (warm.isDone() || warm.used) {
          this.options.discard(warm);
          continue;
        }
        warm.used = true; // claimed: no other call takes it while it is checked
        let live: boolean;
        try {
          live = await isLive(warm);
        } catch (err) {
          this.options.discard(warm);
          throw err;
        }
        if (live) return warm;
        this.options.discard(warm);
      }
      return undefined;
    } finally {
      this.refill();
    }
  }

  /**
   * The next container made, when more are being made than calls wait for
   * them; undefined (go cold) otherwise, or when the pool stops.
   */
  private next(): Promise<WarmContainer | undefined> {
    if (!this.refilling || this.filling <= this.waiters.length) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.refill();
    });
  }

  /** Whether the pool makes containers now (not closed, not disabled, not backing off). */
  private get refilling(): boolean {
    return !this.closed && this.earlyExits < 3 && this.retryTimer === undefined;
  }

  /** Every waiter goes cold (the engine was lost, the pool closed). */
  private release(): void {
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
  }

  /** Discards every ready container (the engine was lost: they are dead or soon will be); keeps refilling. */
  drain(): void {
    for (const warm of this.ready.splice(0)) this.options.discard(warm);
    this.release();
  }

  /**
   * Starts containers until `size` are ready or on the way, plus one for
   * each waiting call, never more than `maxStarting` being made at once.
   */
  refill(): void {
    if (!this.refilling) return;
    const want = this.options.size + this.waiters.length;
    while (this.ready.length + this.filling < want && this.filling < this.options.maxStarting) {
      this.filling++;
      this.options.make().then(
        (warm) => {
          this.filling--;
          this.failures = 0;
          if (this.closed) {
            this.options.discard(warm);
            return;
          }
          const waiter = this.waiters.shift();
          if (waiter) {
            // Straight to the caller that waits (take() checks it like any other).
            waiter(warm);
            return;
          }
          this.ready.push(warm);
          // With maxStarting below size, the next wave starts as each one lands.
          this.refill();
          void warm.exited.then((exit) => {
            const at = this.ready.indexOf(warm);
            if (at < 0 || warm.used) return;
            // Exited while waiting for a call: useless. Behind the gate a tool cannot exit early, so
            // repeated exits mean something kills them (OOM at start, external rm): stop refilling.
            // A lost wait request is the engine's trouble, not the tool's: it does not count.
            this.ready.splice(at, 1);
            this.options.discard(warm);
            if (!('error' in exit)) this.earlyExits++;
            if (!this.refilling) this.release(); // disabled: nothing more is coming for them
            this.refill();
          });
        },
        () => {
          this.filling--;
          // Engine trouble: back off instead of spinning; calls still go cold and report it.
          this.waiters.shift()?.(undefined);
          this.failures++;
          this.retryTimer = setTimeout(
            () => {
              this.retryTimer = undefined;
              this.refill();
            },
            Math.min(5000, 100 * 2 ** this.failures),
          );
          this.retryTimer.unref();
          // Calls waiting beyond what is still being made would wait out the backoff: cold now.
          this.waiters.splice(this.filling).forEach((waiter) => waiter(undefined));
        },
      );
    }
  }

  idleFor(now = Date.now()): number {
    return now - this.lastUsed;
  }

  state(now = Date.now()): ToolPoolState {
    return {
      tool: this.options.tool,
      ready: this.ready.length,
      filling: this.filling,
      disabled: this.earlyExits >= 3,
      idleForMs: this.idleFor(now),
    };
  }

  /** Stops refilling and discards every ready container (those still being made are discarded on arrival). */
  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    for (const warm of this.ready.splice(0)) this.options.discard(warm);
    this.release();
  }

  /** Resolves once no container of this pool is still being made. */
  async settled(): Promise<void> {
    while (this.filling > 0) await new Promise((r) => setTimeout(r, 10));
  }

  /** Whether containers are being made now (removals wait for that; see `Reaper.removeLater`). */
  get busy(): boolean {
    return this.filling > 0;
  }
}
