import { randomUUID } from 'node:crypto';
import { retryAfterSecondsFromMs } from '../../governors/keys.ts';
import type { GovernorStores, LoopDecision, LoopStore, RateDecision, RateLimitStore, SpendDecision, SpendStore, TokenBucketRule } from '../../governors/types.ts';
import { assertCharge, assertHit, assertTake, fixedWindow } from '../../governors/validate.ts';
import { checkPrefix, LuaScript, stateUnavailable, type RedisClient } from './client.ts';

/**
 * Governor stores on Redis, shared by every runner replica: each decision is
 * one Lua script, so read, decide and write happen as one step and the sum of
 * all replicas' calls meets one limit.
 *
 * Time: the scripts use the `nowMs` the caller passes (the runner's clock),
 * never Redis `TIME`, so that the memory and Redis stores behave the same and
 * tests can freeze the clock. Replicas therefore need synchronised clocks
 * (NTP); skew between them only shifts window edges by the skew, and a
 * bucket never goes back in time (a `nowMs` older than the bucket's last
 * update refills nothing and leaves its time as it is).
 *
 * Every key expires: a bucket when it would be full again, a spend window
 * at its end, a loop window when its newest call leaves it (each plus a
 * second of grace). Expiry is set relative (PEXPIRE), since `nowMs` is the
 * caller's clock and Redis expires by its own.
 */

export interface RedisGovernorStoreOptions {
  client: RedisClient;
  /** Key prefix; default `toolcage:`. Keys from the governors then read `toolcage:{tenant}:...`. */
  prefix?: string;
}

/**
 * KEYS[1] bucket hash {t = tokens, ts = last update ms}
 * ARGV capacity, refillPerSecond, nowMs, cost
 * Returns {allowed 0|1, retryAfterMs}. Lua numbers are doubles; Redis turns a
 * returned number into an integer, so only integers are returned.
 */
const TAKE = new LuaScript(`
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = capacity
  ts = now
end
if now > ts then
  tokens = tokens + (now - ts) * rate / 1000
  ts = now
end
if tokens > capacity then tokens = capacity end
local allowed = 0
local retry = 0
if tokens + 1e-9 >= cost then
  tokens = math.max(0, tokens - cost)
  allowed = 1
else
  retry = math.ceil((cost - tokens) * 1000 / rate)
end
local fullIn = math.ceil((capacity - tokens) * 1000 / rate)
redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens), 'ts', string.format('%d', ts))
redis.call('PEXPIRE', KEYS[1], fullIn + 1000)
return {allowed, retry}
`);

/**
 * KEYS[1] the window's counter
 * ARGV cost, budget, ttlMs (relative: times are the caller's clock, expiry is Redis's)
 * Refuses without charging when cost would pass the budget. Returns {allowed, spent}.
 */
const CHARGE = new LuaScript(`
local cost = tonumber(ARGV[1])
local budget = tonumber(ARGV[2])
local spent = tonumber(redis.call('GET', KEYS[1]) or '0')
if spent + cost > budget then
  return {0, spent}
end
spent = redis.call('INCRBY', KEYS[1], cost)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {1, spent}
`);

/**
 * KEYS[1] sorted set of this call's times (score = ms)
 * ARGV nowMs, windowMs, maxRepeats, member (unique)
 * The window is (now - windowMs, now]. Only allowed calls are recorded, so the
 * set holds at most maxRepeats members. Returns {allowed, count, retryAfterMs}.
 */
const HIT = new LuaScript(`
local now = tonumber(ARGV[1])
local windowMs = tonumber(ARGV[2])
local maxRepeats = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - windowMs)
local count = redis.call('ZCARD', KEYS[1])
if count >= maxRepeats then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, count, tonumber(oldest[2]) + windowMs - now}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', KEYS[1], tonumber(newest[2]) + windowMs - now + 1000)
return {1, count + 1, 0}
`);

function integers(reply: unknown, length: number): number[] {
  if (!Array.isArray(reply) || reply.length !== length || !reply.every((v) => typeof v === 'number')) {
    throw new Error(`unexpected reply from a governor script: ${JSON.stringify(reply)}`);
  }
  return reply as number[];
}

/** Token buckets evaluated atomically in Redis. */
export class RedisRateLimitStore implements RateLimitStore {
  readonly #client: RedisClient;
  readonly #prefix: string;

  constructor(options: RedisGovernorStoreOptions) {
    this.#client = options.client;
    this.#prefix = checkPrefix(options.prefix);
  }

  async take(key: string, rule: TokenBucketRule, nowMs: number, cost = 1): Promise<RateDecision> {
    assertTake(rule, nowMs, cost);
    const [allowed, retryMs] = integers(
      await stateUnavailable(this.#client, 'rate limits', () => TAKE.run(this.#client, [this.#prefix + key], [rule.capacity, rule.refillPerSecond, nowMs, cost])),
      2,
    ) as [number, number];
    return allowed === 1 ? { allowed: true, retryAfterSeconds: 0 } : { allowed: false, retryAfterSeconds: retryAfterSecondsFromMs(retryMs) };
  }
}

/** Fixed-window spend budgets; one counter key per window, expiring at the window's end. */
export class RedisSpendStore implements SpendStore {
  readonly #client: RedisClient;
  readonly #prefix: string;

  constructor(options: RedisGovernorStoreOptions) {
    this.#client = options.client;
    this.#prefix = checkPrefix(options.prefix);
  }

  async charge(key: string, cost: number, budget: number, windowSeconds: number, nowMs: number): Promise<SpendDecision> {
    assertCharge(cost, budget, windowSeconds, nowMs);
    const window = fixedWindow(windowSeconds, nowMs);
    // A second of grace past the window's end, for replicas whose clocks run slightly behind.
    const [allowed, spent] = integers(
      await stateUnavailable(this.#client, 'spend caps', () =>
        CHARGE.run(this.#client, [`${this.#prefix}${key}:${window.startMs}`], [cost, budget, window.endMs - nowMs + 1000]),
      ),
      2,
    ) as [number, number];
    return { allowed: allowed === 1, spent, retryAfterSeconds: retryAfterSecondsFromMs(window.endMs - nowMs) };
  }
}

/** Sliding-window loop guard counters (a sorted set of call times per key). */
export class RedisLoopStore implements LoopStore {
  readonly #client: RedisClient;
  readonly #prefix: string;

  constructor(options: RedisGovernorStoreOptions) {
    this.#client = options.client;
    this.#prefix = checkPrefix(options.prefix);
  }

  async hit(key: string, maxRepeats: number, windowSeconds: number, nowMs: number): Promise<LoopDecision> {
    assertHit(maxRepeats, windowSeconds, nowMs);
    const windowMs = Math.ceil(windowSeconds * 1000);
    const [allowed, count, retryMs] = integers(
      await stateUnavailable(this.#client, 'loop guard', () => HIT.run(this.#client, [this.#prefix + key], [nowMs, windowMs, maxRepeats, randomUUID()])),
      3,
    ) as [number, number, number];
    return allowed === 1 ? { allowed: true, count, retryAfterSeconds: 0 } : { allowed: false, count, retryAfterSeconds: retryAfterSecondsFromMs(retryMs) };
  }
}

/** The three governor stores on one Redis client. */
export function createRedisGovernorStores(options: RedisGovernorStoreOptions): GovernorStores {
  return {
    kind: 'redis',
    rate: new RedisRateLimitStore(options),
    spend: new RedisSpendStore(options),
    loop: new RedisLoopStore(options),
  };
}
