import { randomUUID } from 'node:crypto';
import type { BreakerRule, SessionBreakerStore, SessionPause } from '../../governors/breaker.ts';
import { tenantPrefix } from '../../governors/keys.ts';
import { checkPrefix, LuaScript, stateUnavailable, type RedisClient } from './client.ts';
import { globEscape } from './governor-snapshot.ts';

/**
 * KEYS[1] failures (sorted set), KEYS[2] pause (JSON); ARGV nowMs, windowMs,
 * maxFailures, member, pause JSON. Counts and trips in one atomic step, so
 * replicas sharing Redis share one breaker per session.
 */
const FAIL = new LuaScript(`
if redis.call('EXISTS', KEYS[2]) == 1 then return 1 end
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window + 1000)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  redis.call('SET', KEYS[2], ARGV[5])
  return 1
end
return 0
`);

export class RedisSessionBreakerStore implements SessionBreakerStore {
  readonly #client: RedisClient;
  readonly #prefix: string;

  constructor(options: { client: RedisClient; prefix?: string }) {
    this.#client = options.client;
    this.#prefix = checkPrefix(options.prefix);
  }

  #keys(key: string): [string, string] {
    return [`${this.#prefix}breaker:${key}`, `${this.#prefix}paused:${key}`];
  }

  async paused(key: string): Promise<SessionPause | undefined> {
    const raw = await stateUnavailable(this.#client, 'session breaker', () =>
      this.#client.get(this.#keys(key)[1]),
    );
    return raw === null ? undefined : (JSON.parse(raw) as SessionPause);
  }

  async fail(key: string, nowMs: number, rule: BreakerRule, reason: string): Promise<boolean> {
    const pause: SessionPause = { pausedAtMs: nowMs, reason };
    const reply = await stateUnavailable(this.#client, 'session breaker', () =>
      FAIL.run(this.#client, this.#keys(key), [
        nowMs,
        rule.windowSeconds * 1000,
        rule.maxFailures,
        `${nowMs}:${randomUUID()}`,
        JSON.stringify(pause),
      ]),
    );
    return Number(reply) === 1;
  }

  async resume(key: string): Promise<boolean> {
    const [failures, paused] = this.#keys(key);
    const n = await stateUnavailable(this.#client, 'session breaker', async () => {
      await this.#client.del(failures);
      return this.#client.del(paused);
    });
    return n === 1;
  }

  /** Paused sessions, by SCAN over `paused:{tenant}:*` (bounded: never KEYS, at most 200 steps). */
  async listPaused(query: {
    tenant?: string | undefined;
    limit: number;
  }): Promise<Array<SessionPause & { key: string }>> {
    const head = `${this.#prefix}paused:`;
    const match = `${globEscape(head)}${query.tenant === undefined ? '{' : globEscape(tenantPrefix(query.tenant))}*`;
    return stateUnavailable(this.#client, 'session breaker', async () => {
      const keys: string[] = [];
      let cursor = '0';
      let steps = 0;
      do {
        const [next, batch] = await this.#client.scan(cursor, 'MATCH', match, 'COUNT', 500);
        cursor = next;
        keys.push(...batch.slice(0, query.limit - keys.length));
        steps += 1;
      } while (cursor !== '0' && keys.length < query.limit && steps < 200);
      if (keys.length === 0) return [];
      const values = await this.#client.mget(keys);
      const out: Array<SessionPause & { key: string }> = [];
      keys.forEach((k, i) => {
        const raw = values[i];
        if (raw) out.push({ key: k.slice(head.length), ...(JSON.parse(raw) as SessionPause) });
      });
      return out.sort((a, b) => b.pausedAtMs - a.pausedAtMs);
    });
  }
}
