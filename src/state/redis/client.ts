import { createHash } from 'node:crypto';
import type { ConnectionOptions } from 'node:tls';
import { Redis } from 'ioredis';
import { ToolcageError } from '../../errors/toolcage-error.ts';

/** The narrow part of an ioredis client the stores use. */
export type RedisClient = Redis;

export interface RedisClientOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://...` (TLS). */
  url: string;
  /** TLS options for the connection (CA, client certificate, servername), or `true` for the defaults. `rediss://` turns TLS on by itself. */
  tls?: boolean | ConnectionOptions;
  /** Overrides the URL's username and password (keep secrets out of URLs that get logged). */
  username?: string;
  password?: string;
  db?: number;
  /** Give up a connection attempt after this long. Default 1000 ms. */
  connectTimeoutMs?: number;
  /** Fail a command that has no reply after this long. Default 1000 ms. */
  commandTimeoutMs?: number;
  /** Upper bound of the reconnect back-off. Default 1000 ms, so recovery is noticed within about a second. */
  maxReconnectDelayMs?: number;
  /** Connection errors (the client keeps reconnecting by itself); default: ignored, since every store call reports them as `state_unavailable`. */
  onError?: (err: Error) => void;
}

function positiveMs(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new TypeError(
      `Expected ${name} to be a positive integer of milliseconds, got ${String(value)}`,
    );
  return value;
}

/**
 * An ioredis client set up to fail closed and fast:
 *
 * - `enableOfflineQueue: false`: while disconnected a command is refused at
 *   once instead of waiting in a queue for a Redis that may not come back;
 * - `maxRetriesPerRequest: 0` and `autoResendUnfulfilledCommands: false`: a
 *   command in flight when the connection drops fails, and is never sent
 *   twice (a resent INCRBY would charge twice);
 * - short connect and command timeouts, so a hung Redis is a quick refusal;
 * - a reconnect back-off capped at `maxReconnectDelayMs`, forever: when Redis
 *   is back the client reconnects by itself and calls succeed again.
 *
 * Every store wraps its calls with `stateUnavailable`, so the caller sees
 * `state_unavailable` (503) and nothing falls back to per-process memory.
 */
export function createRedisClient(options: RedisClientOptions): RedisClient {
  if (typeof options?.url !== 'string' || !/^rediss?:\/\//i.test(options.url)) {
    throw new TypeError(
      `Expected url to be a redis:// or rediss:// URL, got ${typeof options?.url === 'string' ? 'another scheme' : String(options?.url)}`,
    );
  }
  if (options.db !== undefined && (!Number.isSafeInteger(options.db) || options.db < 0)) {
    throw new TypeError(`Expected db to be a non-negative integer, got ${String(options.db)}`);
  }
  const connectTimeout = positiveMs('connectTimeoutMs', options.connectTimeoutMs, 1000);
  const commandTimeout = positiveMs('commandTimeoutMs', options.commandTimeoutMs, 1000);
  const maxDelay = positiveMs('maxReconnectDelayMs', options.maxReconnectDelayMs, 1000);
  const tls = options.tls === true ? {} : options.tls === false ? undefined : options.tls;

  const client = new Redis(options.url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    connectTimeout,
    commandTimeout,
    retryStrategy: (attempt: number) => Math.min(50 * 2 ** Math.min(attempt, 10), maxDelay),
    ...(tls !== undefined ? { tls } : {}),
    ...(options.username !== undefined ? { username: options.username } : {}),
    ...(options.password !== undefined ? { password: options.password } : {}),
    ...(options.db !== undefined ? { db: options.db } : {}),
  });
  // Without a listener ioredis prints every failed reconnect; the stores report failures per call instead.
  client.on('error', (err: Error) => options.onError?.(err));
  return client;
}

/** Close a client: politely when connected, at once otherwise. */
export async function closeRedisClient(client: RedisClient): Promise<void> {
  if (client.status === 'ready') {
    try {
      await client.quit();
      return;
    } catch {
      // fall through to a hard disconnect
    }
  }
  client.disconnect();
}

/** How long a call waits for a connection that is being made right now (startup), before failing closed. */
const CONNECTING_WAIT_MS = 1000;

/**
 * Wait, briefly, for a connection attempt in progress: the first commands
 * after start-up would otherwise be refused only because the socket is still
 * opening. A client that is down (`reconnecting`, `end`) is not waited for:
 * the call fails closed at once.
 */
const connecting = new WeakMap<RedisClient, Promise<void>>();

function settleConnecting(client: RedisClient, maxWaitMs: number): Promise<void> {
  if (client.status === 'wait') client.connect().catch(() => {});
  if (client.status !== 'connecting' && client.status !== 'connect' && client.status !== 'wait')
    return Promise.resolve();
  // One wait per client however many calls arrive meanwhile (one set of listeners).
  let pending = connecting.get(client);
  if (pending === undefined) {
    pending = new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        client.off('ready', done);
        client.off('close', done);
        client.off('end', done);
        connecting.delete(client);
        resolve();
      };
      const timer = setTimeout(done, maxWaitMs);
      client.once('ready', done);
      client.once('close', done);
      client.once('end', done);
    });
    connecting.set(client, pending);
  }
  return pending;
}

/**
 * Run one store operation on `client`, translating whatever it throws into
 * `state_unavailable`, with the original kept as `cause`. Anything that stops
 * a store from deciding (connection refused, timeout, Redis loading, out of
 * memory, read-only replica) means the runner cannot know the shared state,
 * so it refuses: fail closed. A TypeError (misuse of our own API) passes
 * through unchanged.
 */
export async function stateUnavailable<T>(
  client: RedisClient,
  store: string,
  op: () => Promise<T>,
): Promise<T> {
  try {
    if (client.status !== 'ready') await settleConnecting(client, CONNECTING_WAIT_MS);
    return await op();
  } catch (cause) {
    if (cause instanceof ToolcageError || cause instanceof TypeError) throw cause;
    throw new ToolcageError('state_unavailable', {
      message: `Shared state is unreachable (Redis ${store}); the runner fails closed and ran nothing. Retry in a few seconds; if it persists, ask the operator to check Redis.`,
      retryAfterSeconds: 1,
      cause,
    });
  }
}

/** Resolves once `client` answers PING (start-up, readiness); rejects with `state_unavailable` otherwise. */
export async function pingRedis(client: RedisClient): Promise<void> {
  await stateUnavailable(client, 'ping', async () => {
    const reply = await client.ping();
    if (reply !== 'PONG') throw new Error(`unexpected PING reply: ${String(reply)}`);
  });
}

/**
 * A Lua script run by its SHA1 (EVALSHA), loaded on first use and again
 * after a Redis restart (NOSCRIPT). A script runs atomically: no other
 * command interleaves, so read-decide-write in it is one step for every
 * replica sharing the Redis.
 */
export class LuaScript {
  readonly source: string;
  readonly sha1: string;

  constructor(source: string) {
    this.source = source;
    this.sha1 = createHash('sha1').update(source).digest('hex');
  }

  async run(client: RedisClient, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await client.evalsha(this.sha1, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return await client.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}

/** Every stored key starts with this unless a store is given another prefix (tests use a unique one). */
export const DEFAULT_KEY_PREFIX = 'toolcage:';

export function checkPrefix(prefix: string | undefined): string {
  const value = prefix ?? DEFAULT_KEY_PREFIX;
  if (typeof value !== 'string' || value === '' || /[\s*?[\]{}]/.test(value)) {
    throw new TypeError(
      `Expected prefix to be a non-empty string without spaces, braces or glob characters, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}
