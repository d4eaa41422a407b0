import PQueue from 'p-queue';
import { ToolcageError } from '../errors/toolcage-error.ts';

export interface ConcurrencyOptions {
  /** Runs at once across all tenants (the node's sandbox capacity). */
  maxConcurrent: number;
  /** Runs at once for one tenant; at most `maxConcurrent`. Below it, no tenant can take every slot. */
  perTenantConcurrent: number;
  /** Calls one tenant may have waiting; one more is refused at once with `rate_limited`. */
  maxQueuedPerTenant: number;
}

export interface ConcurrencyStats {
  /** Runs in progress, all tenants. */
  running: number;
  /** Calls waiting, all tenants (in their tenant queue or for a global slot). */
  queued: number;
  /** Per tenant with work in flight; tenants with none are not listed. */
  tenants: { tenant: string; running: number; queued: number }[];
}

interface TenantLane {
  queue: PQueue;
  /** Calls accepted and not yet settled (waiting or running). */
  active: number;
  running: number;
}

/**
 * Concurrency governor: a p-queue per tenant (its own cap, and a bounded
 * wait) in front of one global p-queue (the node's cap).
 *
 * Fairness: a tenant's queue lets at most `perTenantConcurrent` of its calls
 * through to the global queue, so a flooding tenant holds at most that many
 * places in the global FIFO, and every other tenant's next call waits behind
 * at most those, never behind the flood itself. The flood waits in its own
 * queue, which is bounded: past `maxQueuedPerTenant` calls are refused at
 * once (`rate_limited`, retry after 1 s) instead of piling up in memory.
 *
 * Cancellation: an abort while a call waits removes it from the queues and
 * rejects with the signal's reason. Once `fn` has started, the signal is
 * `fn`'s to honour (the sandbox stops the run); the slot is released only
 * when `fn` settles, so a run that is still stopping is still counted and an
 * abort cannot push the node past its cap.
 */
export class ConcurrencyLimiter {
  readonly options: Readonly<ConcurrencyOptions>;
  readonly #global: PQueue;
  readonly #tenants = new Map<string, TenantLane>();
  #running = 0;
  #active = 0;
  #idleWaiters: (() => void)[] = [];

  constructor(options: ConcurrencyOptions) {
    for (const name of ['maxConcurrent', 'perTenantConcurrent', 'maxQueuedPerTenant'] as const) {
      const value = options?.[name];
      if (!Number.isSafeInteger(value) || value < 1)
        throw new TypeError(`Expected ${name} to be a positive integer, got ${String(value)}`);
    }
    if (options.perTenantConcurrent > options.maxConcurrent) {
      throw new TypeError(
        `Expected perTenantConcurrent to be at most maxConcurrent (${options.maxConcurrent}), got ${options.perTenantConcurrent}`,
      );
    }
    this.options = Object.freeze({ ...options });
    this.#global = new PQueue({ concurrency: options.maxConcurrent });
  }

  /**
   * Run `fn` when the tenant and the node both have a free slot. Rejects at
   * once with `rate_limited` when the tenant's wait queue is full.
   */
  async run<T>(tenant: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted();
    let lane = this.#tenants.get(tenant);
    if (lane === undefined) {
      lane = {
        queue: new PQueue({ concurrency: this.options.perTenantConcurrent }),
        active: 0,
        running: 0,
      };
      this.#tenants.set(tenant, lane);
    }
    if (lane.queue.size >= this.options.maxQueuedPerTenant) {
      throw new ToolcageError('rate_limited', {
        message: `Too many calls from this tenant are already waiting to run (${this.options.maxQueuedPerTenant} queued). Retry after 1 s, and send fewer calls at once.`,
        retryAfterSeconds: 1,
        details: { limit: 'concurrency', maxQueuedPerTenant: this.options.maxQueuedPerTenant },
      });
    }

    // The queues see an abort only while the call waits (see the class comment). Without a
    // caller's signal there is nothing to see: no controller, and no listener in either queue.
    const waiting = signal ? new AbortController() : undefined;
    let started = false;
    const onAbort = (): void => {
      if (!started) waiting?.abort(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const options = waiting ? { signal: waiting.signal } : undefined;

    const current = lane;
    current.active += 1;
    this.#active += 1;
    try {
      return await current.queue.add(
        () =>
          this.#global.add(async () => {
            started = true;
            signal?.removeEventListener('abort', onAbort);
            current.running += 1;
            this.#running += 1;
            try {
              return await fn();
            } finally {
              current.running -= 1;
              this.#running -= 1;
            }
          }, options),
        options,
      );
    } finally {
      signal?.removeEventListener('abort', onAbort);
      current.active -= 1;
      if (current.active === 0 && this.#tenants.get(tenant) === current)
        this.#tenants.delete(tenant);
      this.#active -= 1;
      if (this.#active === 0) for (const resolve of this.#idleWaiters.splice(0)) resolve();
    }
  }

  stats(): ConcurrencyStats {
    const tenants: ConcurrencyStats['tenants'] = [];
    let queued = 0;
    for (const [tenant, lane] of this.#tenants) {
      const waiting = lane.active - lane.running;
      queued += waiting;
      tenants.push({ tenant, running: lane.running, queued: waiting });
    }
    return { running: this.#running, queued, tenants };
  }

  /** Resolves when nothing is running or waiting. */
  async onIdle(): Promise<void> {
    if (this.#active === 0) return;
    await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }
}

/** The limiter the config asks for, or undefined when the config says `concurrency: { enabled: false }`. */
export function createConcurrencyLimiter(
  config: { enabled: false } | ({ enabled: true } & ConcurrencyOptions),
): ConcurrencyLimiter | undefined {
  if (!config.enabled) return undefined;
  return new ConcurrencyLimiter({
    maxConcurrent: config.maxConcurrent,
    perTenantConcurrent: config.perTenantConcurrent,
    maxQueuedPerTenant: config.maxQueuedPerTenant,
  });
}
