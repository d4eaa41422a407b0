import { checkPrefix, stateUnavailable, type RedisClient } from './client.ts';

/**
 * Single use of a key across every replica: `consumeOnce` is true exactly
 * once per key while the key is remembered (`ttlMs`). For approvals, nonces
 * (a DPoP proof's `jti`) and anything else that may be used once.
 */
export interface OnceStore {
  consumeOnce(key: string, ttlMs: number): Promise<boolean>;
}

/**
 * `SET prefix+once:key 1 NX PX ttlMs`: Redis runs commands one at a time, so
 * of any number of concurrent consumes of one key exactly one gets true. The
 * key expires after `ttlMs`, so nothing grows without bound; pick a `ttlMs`
 * at least as long as the thing consumed stays valid.
 */
export class RedisOnceStore implements OnceStore {
  readonly #client: RedisClient;
  readonly #prefix: string;

  constructor(options: { client: RedisClient; prefix?: string }) {
    this.#client = options.client;
    this.#prefix = checkPrefix(options.prefix);
  }

  async consumeOnce(key: string, ttlMs: number): Promise<boolean> {
    if (typeof key !== 'string' || key === '')
      throw new TypeError(`Expected key to be a non-empty string, got ${String(key)}`);
    if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0)
      throw new TypeError(`Expected ttlMs to be a positive integer, got ${String(ttlMs)}`);
    const reply = await stateUnavailable(this.#client, 'single-use store', () =>
      this.#client.set(`${this.#prefix}once:${key}`, '1', 'PX', ttlMs, 'NX'),
    );
    return reply === 'OK';
  }
}
