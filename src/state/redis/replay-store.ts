import { createHash } from 'node:crypto';
import type { ClaimId, ReplayStore } from '../../ports/stores.ts';
import { checkPrefix, closeRedisClient, stateUnavailable, type RedisClient } from './client.ts';
import type { RedisSafety } from './safety.ts';

export interface RedisStoreOptions {
  client: RedisClient;
  /** Key prefix; default `toolcage:`. */
  prefix?: string;
  /** Whether `close()` also closes the client (when this store is its only user). Default false. */
  ownsClient?: boolean;
  /** Refuses to consume on an evicting or restarted Redis (safety.ts); absent in unit tests of the store alone. */
  safety?: RedisSafety;
}

/** A consumed id is remembered at least this long, even when `expiresAtMs` has already passed. */
const MIN_REMEMBER_MS = 1000;

/**
 * The key and expiry of one consumed claim id; shared with the one-step
 * admission script (governor-stores.ts), so both paths consume the same key.
 */
export function replayEntry(
  prefix: string,
  id: { iss: string; jti: string },
  expiresAtMs: number,
): { key: string; atMs: number } {
  if (typeof id?.iss !== 'string' || typeof id.jti !== 'string')
    throw new TypeError('Expected id to be { iss: string, jti: string }');
  if (!Number.isFinite(expiresAtMs))
    throw new TypeError(
      `Expected expiresAtMs to be a finite time in milliseconds, got ${String(expiresAtMs)}`,
    );
  const digest = createHash('sha256')
    .update(JSON.stringify([id.iss, id.jti]))
    .digest('base64url');
  return {
    key: `${prefix}replay:${digest}`,
    atMs: Math.max(Math.ceil(expiresAtMs), Date.now() + MIN_REMEMBER_MS),
  };
}

/**
 * Claim ids consumed once across every replica sharing the Redis: one
 * `SET key 1 NX PXAT expiresAtMs` per call. Redis runs commands one at a
 * time, so of any number of concurrent consumes of one (iss, jti) exactly one
 * sets the key and gets true. The key expires by itself at the claim's
 * `exp` + tolerance, after which the claim is refused as expired anyway.
 *
 * The key is a SHA-256 of `[iss, jti]` (JSON, so the pair is unambiguous):
 * fixed length whatever the claim holds, and no claim ids in Redis.
 */
export class RedisReplayStore implements ReplayStore {
  readonly kind = 'redis';
  readonly #client: RedisClient;
  readonly #prefix: string;
  readonly #ownsClient: boolean;
  readonly #safety: RedisSafety | undefined;

  constructor(options: RedisStoreOptions) {
    this.#client = options.client;
    this.#prefix = checkPrefix(options.prefix);
    this.#ownsClient = options.ownsClient ?? false;
    this.#safety = options.safety;
  }

  async consume(id: ClaimId, expiresAtMs: number): Promise<boolean> {
    const { key, atMs } = replayEntry(this.#prefix, id, expiresAtMs);
    const reply = await stateUnavailable(this.#client, 'replay store', async () => {
      await this.#safety?.ensure();
      this.#safety?.admits(id.iat);
      return this.#client.set(key, '1', 'PXAT', atMs, 'NX');
    });
    return reply === 'OK';
  }

  async close(): Promise<void> {
    if (this.#ownsClient) await closeRedisClient(this.#client);
  }
}
