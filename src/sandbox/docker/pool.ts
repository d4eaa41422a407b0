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
  make: () => Promise<WarmContainer>;
  /** Hands a container that will not be used to the reaper. */
  discard: (warm: WarmContainer) => void;
}

/**
 * A per-tool pool of started containers, each blocked reading stdin and
 * used for exactly one call, then removed (fresh state per call). Refilled
 * in the background after every take. Invariant: every container this pool
 * ever made is either handed out by `take()` or passed to `discard`.
 */
export class ToolPool {
  private readonly ready: WarmContainer[] = [];
  private filling = 0;
  private closed = false;
  private earlyExits = 0;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private lastUsed = Date.now();
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
      while (this.ready.length > 0) {
        const warm = this.ready.shift();
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

  /** Discards every ready container (the engine was lost: they are dead or soon will be); keeps refilling. */
  drain(): void {
    for (const warm of this.ready.splice(0)) this.options.discard(warm);
  }

  /** Starts containers until `size` are ready or on the way. */
  refill(): void {
    if (this.closed || this.earlyExits >= 3 || this.retryTimer) return;
    while (this.ready.length + this.filling < this.options.size) {
      this.filling++;
      this.options.make().then(
        (warm) => {
          this.filling--;
          this.failures = 0;
          if (this.closed) {
            this.options.discard(warm);
            return;
          }
          this.ready.push(warm);
          void warm.exited.then((exit) => {
            const at = this.ready.indexOf(warm);
            if (at < 0 || warm.used) return;
            // Exited while waiting for a call: useless. Behind the gate a tool cannot exit early, so
            // repeated exits mean something kills them (OOM at start, external rm): stop refilling.
            // A lost wait request is the engine's trouble, not the tool's: it does not count.
            this.ready.splice(at, 1);
            this.options.discard(warm);
            if (!('error' in exit)) this.earlyExits++;
            this.refill();
          });
        },
        () => {
          this.filling--;
          // Engine trouble: back off instead of spinning; calls still go cold and report it.
          this.failures++;
          this.retryTimer = setTimeout(
            () => {
              this.retryTimer = undefined;
              this.refill();
            },
            Math.min(5000, 100 * 2 ** this.failures),
          );
          this.retryTimer.unref();
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
  }

  /** Resolves once no container of this pool is still being made. */
  async settled(): Promise<void> {
    while (this.filling > 0) await new Promise((r) => setTimeout(r, 10));
  }
}
