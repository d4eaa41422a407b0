import type { SigningKey } from '../ports/claims.ts';
import { auditUnavailable, type AuditHealth, type AuditSink } from './audit.ts';
import type { AuditEntry } from './events.ts';
import { ChainSealer, newChainId } from './chain.ts';
import { signCheckpoint } from './checkpoint.ts';
import type { AuditDestination } from './destination.ts';

export type FsyncPolicy = 'never' | 'checkpoint' | 'always';

export interface ChainedAuditSinkOptions {
  destination: AuditDestination;
  /** Names the writer: the chain id is `<service>.<uuid>`, fresh per process instance. */
  service: string;
  /** Signs checkpoints; without it checkpoints carry no JWS and prove nothing (`audit verify` says so). */
  signingKey?: SigningKey | undefined;
  /** A checkpoint after this many records (default 1000) ... */
  checkpointEveryRecords?: number;
  /** ... or this many seconds after the first record it does not yet cover (default 60). */
  checkpointEverySeconds?: number;
  /** When to fdatasync: never, after each checkpoint (default), or after every batch. */
  fsync?: FsyncPolicy;
  now?: () => number;
}

interface Pending {
  event: AuditEntry | undefined;
  time: Date;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * The tamper-evident sink. `record` queues the event and resolves once the
 * batch holding it is written: callers do not report a decision before its
 * record is accepted, and concurrent decisions share one write. Canonical
 * JSON, hashing and signing happen in the drain, off the caller's own path.
 *
 * When a write fails (disk full, permission, closed destination) the batch's
 * records are refused (`audit_unavailable`), the chain head rolls back to the
 * last written line, and `health()` says unready. Every later record (and
 * every `health()` call) retries; the first write that succeeds starts with
 * an `audit_recovered` record counting the refusals, so the gap is on the trail.
 */
export class ChainedAuditSink implements AuditSink {
  readonly chain: string;
  readonly #dest: AuditDestination;
  readonly #sealer: ChainSealer;
  readonly #key: SigningKey | undefined;
  readonly #everyRecords: number;
  readonly #everyMs: number;
  readonly #fsync: FsyncPolicy;
  readonly #now: () => number;
  #queue: Pending[] = [];
  #draining: Promise<void> | undefined;
  #sinceCheckpoint = 0;
  #timer: NodeJS.Timeout | undefined;
  #failure: { error: unknown; since: Date; refused: number } | undefined;
  #closed = false;
  #checkpointDue = false;

  constructor(options: ChainedAuditSinkOptions) {
    if (!options?.destination) throw new TypeError('Expected options.destination');
    this.#dest = options.destination;
    this.chain = newChainId(options.service);
    this.#sealer = new ChainSealer(this.chain);
    this.#key = options.signingKey;
    this.#everyRecords = options.checkpointEveryRecords ?? 1000;
    this.#everyMs = (options.checkpointEverySeconds ?? 60) * 1000;
    if (!(this.#everyRecords >= 1) || !(this.#everyMs > 0))
      throw new TypeError('Expected checkpointEveryRecords >= 1 and checkpointEverySeconds > 0');
    this.#fsync = options.fsync ?? 'checkpoint';
    this.#now = options.now ?? Date.now;
  }

  record(event: AuditEntry): Promise<void> {
    if (this.#closed) return Promise.reject(auditUnavailable(new Error('audit sink closed')));
    return this.#enqueue(event);
  }

  write(event: AuditEntry): void {
    this.record(event).catch(() => {
      /* counted in #failure; health() reports it */
    });
  }

  async flush(): Promise<void> {
    while (this.#draining) await this.#draining;
  }

  async health(): Promise<AuditHealth> {
    if (this.#closed) return { ready: false, detail: 'closed' };
    if (this.#failure) await this.#enqueue(undefined).catch(() => {});
    const f = this.#failure;
    if (!f) return { ready: true, detail: `chain ${this.chain} at seq ${this.#sealer.head.seq}` };
    const code = (f.error as NodeJS.ErrnoException).code ?? (f.error as Error).message;
    return {
      ready: false,
      detail: `audit destination failing since ${f.since.toISOString()} (${code})`,
    };
  }

  /** Writes a final checkpoint and releases the destination. Later records are refused. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#checkpointDue = true;
    await this.#enqueue(undefined, true).catch(() => {});
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.flush();
    await this.#dest.close().catch(() => {});
  }

  #final = false;

  #enqueue(event: AuditEntry | undefined, final = false): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (final) this.#final = true;
      this.#queue.push({ event, time: new Date(this.#now()), resolve, reject });
      // A microtask, not a timer: records queued while a write is in flight form the next batch.
      this.#draining ??= Promise.resolve().then(() => this.#drain());
    });
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue;
        this.#queue = [];
        await this.#writeBatch(batch);
      }
    } finally {
      this.#draining = undefined;
    }
  }

  async #writeBatch(batch: Pending[]): Promise<void> {
    const start = this.#sealer.head;
    const startCount = this.#sinceCheckpoint;
    const lines: string[] = [];
    let wroteCheckpoint = false;
    try {
      if (this.#failure) {
        const f = this.#failure;
        lines.push(
          this.#sealer.seal(
            {
              kind: 'audit_recovered',
              refused: f.refused,
              since: f.since.toISOString(),
              errorCode: 'audit_unavailable',
            },
            new Date(this.#now()),
          ),
        );
        this.#sinceCheckpoint++;
      }
      for (const p of batch) {
        if (!p.event) continue;
        lines.push(this.#sealer.seal(p.event, p.time));
        this.#sinceCheckpoint++;
      }
      const final = this.#final;
      const due =
        this.#sinceCheckpoint > 0 &&
        (this.#checkpointDue || this.#sinceCheckpoint >= this.#everyRecords);
      // The final checkpoint seals every chain that has a line on disk, even right after a periodic one.
      if (due || (final && this.#sealer.head.seq > 0)) {
        lines.push(await this.#checkpoint(final));
        wroteCheckpoint = true;
      }
      if (lines.length > 0) {
        await this.#dest.append(Buffer.from(`${lines.join('\n')}\n`));
        if (this.#fsync === 'always' || (wroteCheckpoint && this.#fsync === 'checkpoint'))
          await this.#dest.sync();
      }
    } catch (error) {
      this.#sealer.reset(start);
      this.#sinceCheckpoint = startCount;
      const refused = batch.filter((p) => p.event).length;
      this.#failure = this.#failure
        ? { ...this.#failure, error, refused: this.#failure.refused + refused }
        : { error, since: new Date(this.#now()), refused };
      const err = auditUnavailable(error);
      for (const p of batch) p.reject(err);
      return;
    }
    this.#failure = undefined;
    if (wroteCheckpoint) {
      this.#sinceCheckpoint = 0;
      this.#checkpointDue = false;
      clearTimeout(this.#timer);
      this.#timer = undefined;
    } else if (this.#sinceCheckpoint > 0 && !this.#timer && !this.#closed) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#checkpointDue = true;
        this.#enqueue(undefined).catch(() => {});
      }, this.#everyMs);
      this.#timer.unref();
    }
    for (const p of batch) p.resolve();
  }

  async #checkpoint(final: boolean): Promise<string> {
    const head = this.#sealer.head;
    const jws = this.#key
      ? await signCheckpoint(this.#key, { chain: this.chain, seq: head.seq, head: head.prev })
      : undefined;
    return this.#sealer.sealCheckpoint(
      { covers: head.seq, final, ...(jws ? { jws } : {}) },
      new Date(this.#now()),
    );
  }
}
