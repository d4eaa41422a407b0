/**
 * Two ways a Redis can forget a consumed claim id, and so let the claim run
 * twice (issue 16, item 8), checked on start, on every reconnect and on every
 * readiness probe:
 *
 * 1. **Eviction.** Under any `maxmemory-policy` but `noeviction`, Redis drops
 *    keys under memory pressure: `allkeys-*` any key, `volatile-*` (managed
 *    defaults) every key with an expiry, which is every replay key. While the
 *    policy is not `noeviction` the stores refuse every call
 *    (`state_unavailable`) and readiness is false, unless the operator set
 *    `state.redis.unsafeAllowEviction`.
 * 2. **A Redis that came back empty.** A restart without persistence (or a
 *    failover to an empty replica) forgets every key. Redis's `run_id` changes
 *    with every start, and `uptime_in_seconds` says when that was: a claim
 *    issued before the Redis we talk to started (plus a small clock-skew
 *    margin, since the broker's clock may run ahead of ours) may have been consumed in
 *    its previous life, so it is refused (`claim_state_lost`). Claims live
 *    minutes at most, so the cost is a fresh claim.
 *
 * What this cannot see: keys deleted by hand (FLUSHALL, DEL), or a Redis
 * restored from an old snapshot that keeps its run id (none does).
 */
import { ToolcageError } from '../../errors/toolcage-error.ts';
import { stateUnavailable, type RedisClient } from './client.ts';

export interface RedisSafetyOptions {
  client: RedisClient;
  /** Serve even when Redis may evict keys (consumed claim ids among them). Default false. */
  unsafeAllowEviction?: boolean;
  /**
   * Margin added to the Redis start time before comparing claims' `iat`: the
   * broker's and the runner's clocks may differ by this much (and both times
   * are whole seconds). Default 1 000.
   */
  clockSkewMs?: number;
  now?: () => number;
}

interface Observed {
  policy: string;
  runId: string;
}

/** `key:value` lines of an INFO reply. */
function infoField(info: string, key: string): string | undefined {
  const m = new RegExp(`^${key}:(.*)$`, 'm').exec(info);
  return m?.[1]?.trim();
}

export class RedisSafety {
  readonly #client: RedisClient;
  readonly #unsafe: boolean;
  readonly #toleranceMs: number;
  readonly #now: () => number;
  /** The check of the current connection; undefined: not yet checked since it (re)opened. */
  #checked: Promise<void> | undefined;
  #observed: Observed | undefined;
  #problem: string | undefined;
  /** Claims issued before this (ms since the epoch) are refused. */
  #cutoffMs = 0;

  constructor(options: RedisSafetyOptions) {
    this.#client = options.client;
    this.#unsafe = options.unsafeAllowEviction ?? false;
    this.#toleranceMs = options.clockSkewMs ?? 1_000;
    this.#now = options.now ?? Date.now;
    if (!Number.isSafeInteger(this.#toleranceMs) || this.#toleranceMs < 0)
      throw new TypeError(
        `Expected clockSkewMs to be a non-negative integer, got ${String(options.clockSkewMs)}`,
      );
    // Every new connection may be to another Redis (restart, failover): check again before use.
    this.#client.on('close', () => {
      this.#checked = undefined;
    });
    this.#client.on('ready', () => {
      void this.ensure().catch(() => undefined);
    });
  }

  /** Resolves once the current connection's Redis is checked and safe; throws `state_unavailable` otherwise. */
  async ensure(): Promise<void> {
    if (!this.#checked) {
      // Waits for a connection being made; any failure is `state_unavailable` (fail closed).
      const pending = stateUnavailable(this.#client, 'safety check', () => this.check());
      this.#checked = pending;
      // A failed check (Redis down) is retried by the next call, not remembered.
      pending.catch(() => {
        if (this.#checked === pending) this.#checked = undefined;
      });
    }
    await this.#checked;
    if (this.#problem) throw this.#refusal();
  }

  /**
   * Throws `claim_state_lost` for a claim (or DPoP proof) issued before the
   * Redis we use (re)started. An id without an issue time is not judged here
   * (its store call still needs `ensure`): every caller in toolcage passes one.
   */
  admits(issuedAtS: number | undefined): void {
    if (this.#cutoffMs === 0 || issuedAtS === undefined) return;
    if (Number.isFinite(issuedAtS) && issuedAtS * 1000 >= this.#cutoffMs) return;
    throw new ToolcageError('claim_state_lost', {
      message: `Shared state (Redis) restarted empty at ${new Date(this.#cutoffMs - this.#toleranceMs).toISOString()}, after this claim was issued: the runner cannot tell whether it was already used. Ask the broker for a new claim (or sign a new DPoP proof).`,
    });
  }

  /** For /readyz: a fresh check (so a policy fixed at runtime is noticed), then the verdict. */
  async health(): Promise<{ usable: boolean; detail: string }> {
    this.#checked = undefined;
    try {
      await this.ensure();
      const o = this.#observed!;
      return {
        usable: true,
        detail:
          o.policy === 'noeviction'
            ? 'redis answers; maxmemory-policy noeviction'
            : `redis answers; maxmemory-policy ${o.policy} (unsafeAllowEviction: consumed claims may be evicted and replayed)`,
      };
    } catch (err) {
      return {
        usable: false,
        detail:
          this.#problem ??
          (err instanceof ToolcageError ? 'redis does not answer' : 'redis check failed'),
      };
    }
  }

  private async check(): Promise<void> {
    const info = await this.#client.info();
    const runId = infoField(info, 'run_id');
    const uptimeS = Number(infoField(info, 'uptime_in_seconds'));
    const policy = infoField(info, 'maxmemory_policy');
    if (!runId || !Number.isFinite(uptimeS) || !policy)
      throw new Error('INFO lacks run_id, uptime_in_seconds or maxmemory_policy');
    if (this.#observed?.runId !== runId) {
      // The Redis we talk to started at most `uptime` ago; claims issued before then are suspect.
      const startedMs = this.#now() - uptimeS * 1000;
      this.#cutoffMs = Math.max(this.#cutoffMs, startedMs + this.#toleranceMs);
    }
    this.#observed = { policy, runId };
    this.#problem =
      policy === 'noeviction' || this.#unsafe
        ? undefined
        : `Redis maxmemory-policy is "${policy}": under memory pressure it evicts keys, consumed claim ids among them, so a claim could run twice. Set maxmemory-policy noeviction on this Redis, or accept the risk with state.redis.unsafeAllowEviction: true.`;
  }

  #refusal(): ToolcageError {
    return new ToolcageError('state_unavailable', {
      message: `The runner refuses to serve: ${this.#problem}`,
      retryAfterSeconds: 30,
    });
  }
}
