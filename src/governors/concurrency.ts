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
  /** Calls waiting for one of the tenant's places, oldest first. */
  waiting: Entry[];
  /** Calls through the tenant's gate: waiting for a node slot or running. At most `perTenantConcurrent`. */
  passed: number;
  /** Calls accepted and not yet settled (waiting or running). */
  active: number;
  running: number;
}

interface Entry {
  lane: TenantLane;
  /** Where the call is: waiting at its tenant's gate, waiting for a node slot, or holding one. */
  stage: 'tenant' | 'node' | 'slot';
  start(): void;
  refuse(reason: unknown): void;
}

/**
 * Concurrency governor: a FIFO per tenant (its own cap, and a bounded wait)
 * in front of one FIFO for the node's cap. Plain counters and arrays: on the
 * path of every call, where two p-queues, an AbortController and its event
 * cost ~25 µs of CPU per call.
 *
 * Fairness: a tenant's gate lets at most `perTenantConcurrent` of its calls
 * through to the node's queue, so a flooding tenant holds at most that many
 * places in the node's FIFO, and every other tenant's next call waits behind
 * at most those, never behind the flood itself. A freed node slot goes to the
 * oldest call in the node's FIFO before the flood's next call is let through.
 * The flood waits at its own gate, which is bounded: past
 * `maxQueuedPerTenant` calls are refused at once (`rate_limited`, retry after
 * 1 s) instead of piling up in memory.
 *
 * Cancellation: an abort while a call waits removes it from the queues and
 * rejects with the signal's reason. Once `fn` has started, the signal is
 * `fn`'s to honour (the sandbox stops the run); the slot is released only
 * when `fn` settles, so a run that is still stopping is still counted and an
 * abort cannot push the node past its cap.
 */
export class ConcurrencyLimiter {
  readonly options: Readonly<ConcurrencyOptions>;
  readonly #tenants = new Map<string, TenantLane>();
  /** Calls through their tenant's gate waiting for a node slot, oldest first. */
  readonly #nodeWaiting: Entry[] = [];
  /** Node slots held (a call holds one from the moment it is let through until `fn` settles). */
  #slots = 0;
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
  }

  /**
   * Run `fn` when the tenant and the node both have a free slot. Rejects at
   * once with `rate_limited` when the tenant's wait queue is full.
   */
  async run<T>(tenant: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted();
    let lane = this.#tenants.get(tenant);
    if (lane === undefined) {
      lane = { waiting: [], passed: 0, active: 0, running: 0 };
      this.#tenants.set(tenant, lane);
    }
    if (lane.waiting.length >= this.options.maxQueuedPerTenant) {
      throw new ToolcageError('rate_limited', {
        message: `Too many calls from this tenant are already waiting to run (${this.options.maxQueuedPerTenant} queued). Retry after 1 s, and send fewer calls at once.`,
        retryAfterSeconds: 1,
        details: { limit: 'concurrency', maxQueuedPerTenant: this.options.maxQueuedPerTenant },
      });
    }

    const current = lane;
    current.active += 1;
    this.#active += 1;
    let onAbort: (() => void) | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        const entry: Entry = { lane: current, stage: 'tenant', start: resolve, refuse: reject };
        if (signal) {
          // The queues see an abort only while the call waits (see the class comment).
          onAbort = () => this.#withdraw(entry, signal.reason);
          signal.addEventListener('abort', onAbort, { once: true });
        }
        this.#arrive(entry);
      });
      if (onAbort) signal?.removeEventListener('abort', onAbort);
      current.running += 1;
      this.#running += 1;
      try {
        return await fn();
      } finally {
        current.running -= 1;
        this.#running -= 1;
        this.#leave(current);
      }
    } finally {
      if (onAbort) signal?.removeEventListener('abort', onAbort);
      current.active -= 1;
      if (current.active === 0 && this.#tenants.get(tenant) === current)
        this.#tenants.delete(tenant);
      this.#active -= 1;
      if (this.#active === 0) for (const resolve of this.#idleWaiters.splice(0)) resolve();
    }
  }

  /** A new call: through its tenant's gate if the tenant has a place, else it waits there. */
  #arrive(entry: Entry): void {
    if (entry.lane.passed < this.options.perTenantConcurrent) this.#pass(entry);
    else entry.lane.waiting.push(entry);
  }

  /** Through the tenant's gate: a node slot if one is free, else the node's FIFO. */
  #pass(entry: Entry): void {
    entry.lane.passed += 1;
    if (this.#slots < this.options.maxConcurrent) this.#start(entry);
    else {
      entry.stage = 'node';
      this.#nodeWaiting.push(entry);
    }
  }

  #start(entry: Entry): void {
    this.#slots += 1;
    entry.stage = 'slot';
    entry.start();
  }

  /** A run ended: its node slot goes to the oldest call waiting for one, then its tenant lets the next call through. */
  #leave(lane: TenantLane): void {
    this.#slots -= 1;
    lane.passed -= 1;
    const next = this.#nodeWaiting.shift();
    if (next) this.#start(next);
    const waiting = lane.waiting.shift();
    if (waiting) this.#pass(waiting);
  }

  /** An abort while waiting: out of whichever queue holds the call; a held slot stays held. */
  #withdraw(entry: Entry, reason: unknown): void {
    if (entry.stage === 'slot') return;
    const queue = entry.stage === 'tenant' ? entry.lane.waiting : this.#nodeWaiting;
    const index = queue.indexOf(entry);
    if (index < 0) return;
    queue.splice(index, 1);
    if (entry.stage === 'node') {
      entry.lane.passed -= 1;
      const waiting = entry.lane.waiting.shift();
      if (waiting) this.#pass(waiting);
    }
    entry.refuse(reason);
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
