import type { ConsoleSessionRecord, ConsoleSessionStore } from '../../ports/stores.ts';
import { checkPrefix, stateUnavailable, type RedisClient } from './client.ts';

/**
 * Console sign-in sessions on Redis, so every broker replica accepts the
 * same cookie. One string per session under `console-session:<digest of the
 * id>`, expiring by itself (PX, relative: Redis expires by its own clock).
 */
export class RedisConsoleSessionStore implements ConsoleSessionStore {
  readonly #client: RedisClient;
  readonly #prefix: string;

  constructor(options: { client: RedisClient; prefix?: string }) {
    this.#client = options.client;
    this.#prefix = checkPrefix(options.prefix);
  }

  #key(key: string): string {
    return `${this.#prefix}console-session:${key}`;
  }

  async put(key: string, record: ConsoleSessionRecord, expiresAtMs: number): Promise<void> {
    const ttlMs = Math.max(1, Math.ceil(expiresAtMs - Date.now()));
    await stateUnavailable(this.#client, 'console sessions', () =>
      this.#client.set(this.#key(key), JSON.stringify(record), 'PX', ttlMs),
    );
  }

  async get(key: string): Promise<ConsoleSessionRecord | undefined> {
    const raw = await stateUnavailable(this.#client, 'console sessions', () =>
      this.#client.get(this.#key(key)),
    );
    return raw === null ? undefined : (JSON.parse(raw) as ConsoleSessionRecord);
  }

  async delete(key: string): Promise<void> {
    await stateUnavailable(this.#client, 'console sessions', () =>
      this.#client.del(this.#key(key)),
    );
  }
}
