import { randomUUID } from 'node:crypto';
import { retryAfterSecondsFromMs } from '../../governors/keys.ts';
import { chargeSessions } from '../../governors/governors.ts';
import type {
  GovernorPlan,
  GovernorPlanStore,
  GovernorStores,
  GovernorVerdict,
  LoopDecision,
  LoopStore,
  RateDecision,
  RateLimitStore,
  SpendDecision,
  SpendStore,
  TokenBucketRule,
} from '../../ports/governors.ts';
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

/*
 * Each algorithm is one Lua function, defined once and used both by the
 * single-store scripts and by DECIDE, which runs a whole call's plan in one
 * step. Lua numbers are doubles; Redis turns a returned number into an
 * integer, so only integers are returned.
 */

/** Token bucket in hash `key` {t = tokens, ts = last update ms}. Returns allowed (0|1), retryAfterMs. */
const TAKE_FN = `
local function take(key, capacity, rate, now, cost)
  local state = redis.call('HMGET', key, 't', 'ts')
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
  redis.call('HSET', key, 't', string.format('%.17g', tokens), 'ts', string.format('%d', ts))
  redis.call('PEXPIRE', key, fullIn + 1000)
  return allowed, retry
end
`;

/**
 * The window's spend counter `key`; ttlMs is relative (times are the caller's
 * clock, expiry is Redis's). Refuses without charging when cost would pass the
 * budget. Returns allowed, spent.
 */
const CHARGE_FN = `
local function charge(key, cost, budget, ttlMs)
  local spent = tonumber(redis.call('GET', key) or '0')
  if spent + cost > budget then
    return 0, spent
  end
  spent = redis.call('INCRBY', key, cost)
  redis.call('PEXPIRE', key, ttlMs)
  return 1, spent
end
`;

/**
 * Sorted set `key` of this call's times (score = ms); the window is
 * (now - windowMs, now]. Only allowed calls are recorded, so the set holds at
 * most maxRepeats members. Returns allowed, count, retryAfterMs.
 */
const HIT_FN = `
local function hit(key, now, windowMs, maxRepeats, member)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - windowMs)
  local count = redis.call('ZCARD', key)
  if count >= maxRepeats then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    return 0, count, tonumber(oldest[2]) + windowMs - now
  end
  redis.call('ZADD', key, now, member)
  local newest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  redis.call('PEXPIRE', key, tonumber(newest[2]) + windowMs - now + 1000)
  return 1, count + 1, 0
end
`;

/** KEYS[1] bucket; ARGV capacity, refillPerSecond, nowMs, cost. Returns {allowed, retryAfterMs}. */
const TAKE = new LuaScript(`${TAKE_FN}
local allowed, retry = take(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]))
return {allowed, retry}
`);

/** KEYS[1] counter; ARGV cost, budget, ttlMs. Returns {allowed, spent}. */
const CHARGE = new LuaScript(`${CHARGE_FN}
local allowed, spent = charge(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3])
return {allowed, spent}
`);

/** KEYS[1] sorted set; ARGV nowMs, windowMs, maxRepeats, member. Returns {allowed, count, retryAfterMs}. */
const HIT = new LuaScript(`${HIT_FN}
local allowed, count, retry = hit(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4])
return {allowed, count, retry}
`);

/**
 * A whole call's plan in one step, optionally preceded by consuming a claim
 * id: replay check, loop guard, buckets in order, spend; the first refusal
 * returns at once and leaves the later steps untouched (a replayed claim
 * charges nothing).
 * KEYS: [replay key if ARGV[1] = 1] [loop key if loopOn] [n bucket keys] [spend key if on]
 * ARGV: replayOn, replayAtMs, now, loopOn, windowMs, maxRepeats, member, n, (capacity, rate) * n, spendOn, cost, budget, ttlMs
 * Returns {step, a, b}: 0 allowed; -2 replayed; 1 loop refused (a = retryAfterMs, b = count);
 * 1 + i bucket i refused (a = retryAfterMs); -1 spend refused (a = spent).
 */
const DECIDE = new LuaScript(`${TAKE_FN}${CHARGE_FN}${HIT_FN}
local k = 1
if ARGV[1] == '1' then
  if not redis.call('SET', KEYS[1], '1', 'PXAT', ARGV[2], 'NX') then return {-2, 0, 0} end
  k = 2
end
local now = tonumber(ARGV[3])
if ARGV[4] == '1' then
  local allowed, count, retry = hit(KEYS[k], now, tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7])
  if allowed == 0 then return {1, retry, count} end
  k = k + 1
end
local n = tonumber(ARGV[8])
for i = 1, n do
  local allowed, retry = take(KEYS[k], tonumber(ARGV[7 + 2 * i]), tonumber(ARGV[8 + 2 * i]), now, 1)
  if allowed == 0 then return {1 + i, retry, 0} end
  k = k + 1
end
local a = 9 + 2 * n
if ARGV[a] == '1' then
  local allowed, spent = charge(KEYS[k], tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), ARGV[a + 3])
  if allowed == 0 then return {-1, spent, 0} end
end
return {0, 0, 0}
`);

function integers(reply: unknown, length: number): number[] {
  if (
    !Array.isArray(reply) ||
    reply.length !== length ||
    !reply.every((v) => typeof v === 'number')
  ) {
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
      await stateUnavailable(this.#client, 'rate limits', () =>
        TAKE.run(
          this.#client,
          [this.#prefix + key],
          [rule.capacity, rule.refillPerSecond, nowMs, cost],
        ),
      ),
      2,
    ) as [number, number];
    return allowed === 1
      ? { allowed: true, retryAfterSeconds: 0 }
      : { allowed: false, retryAfterSeconds: retryAfterSecondsFromMs(retryMs) };
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

  async charge(
    key: string,
    cost: number,
    budget: number,
    windowSeconds: number,
    nowMs: number,
  ): Promise<SpendDecision> {
    assertCharge(cost, budget, windowSeconds, nowMs);
    const window = fixedWindow(windowSeconds, nowMs);
    // A second of grace past the window's end, for replicas whose clocks run slightly behind.
    const [allowed, spent] = integers(
      await stateUnavailable(this.#client, 'spend caps', () =>
        CHARGE.run(
          this.#client,
          [`${this.#prefix}${key}:${window.startMs}`],
          [cost, budget, window.endMs - nowMs + 1000],
        ),
      ),
      2,
    ) as [number, number];
    return {
      allowed: allowed === 1,
      spent,
      retryAfterSeconds: retryAfterSecondsFromMs(window.endMs - nowMs),
    };
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

  async hit(
    key: string,
    maxRepeats: number,
    windowSeconds: number,
    nowMs: number,
  ): Promise<LoopDecision> {
    assertHit(maxRepeats, windowSeconds, nowMs);
    const windowMs = Math.ceil(windowSeconds * 1000);
    const [allowed, count, retryMs] = integers(
      await stateUnavailable(this.#client, 'loop guard', () =>
        HIT.run(this.#client, [this.#prefix + key], [nowMs, windowMs, maxRepeats, randomUUID()]),
      ),
      3,
    ) as [number, number, number];
    return allowed === 1
      ? { allowed: true, count, retryAfterSeconds: 0 }
      : { allowed: false, count, retryAfterSeconds: retryAfterSecondsFromMs(retryMs) };
  }
}

/** A whole call's governor plan in one Lua script: one round trip per call instead of five. */
export class RedisGovernorPlanStore implements GovernorPlanStore {
  readonly #client: RedisClient;
  readonly #prefix: string;
  readonly #spend: RedisSpendStore;

  constructor(options: RedisGovernorStoreOptions) {
    this.#client = options.client;
    this.#prefix = checkPrefix(options.prefix);
    this.#spend = new RedisSpendStore(options);
  }

  async decideAll(plan: GovernorPlan): Promise<GovernorVerdict> {
    const verdict = await this.admit(undefined, plan);
    if (verdict === 'replayed') throw new Error('unreachable: no claim id was given');
    return verdict;
  }

  /**
   * Consumes the claim id `replay` (when given) and decides `plan`, in one
   * script: one round trip per call. A replayed claim is `'replayed'` and
   * charges nothing.
   */
  async admit(
    replay: { key: string; atMs: number } | undefined,
    plan: GovernorPlan,
  ): Promise<'replayed' | GovernorVerdict> {
    const { nowMs, loop, buckets, spend } = plan;
    const keys: string[] = [];
    const args: (string | number)[] = [];
    if (replay) {
      keys.push(replay.key);
      args.push(1, replay.atMs);
    } else {
      args.push(0, 0);
    }
    args.push(nowMs);
    if (loop) {
      assertHit(loop.maxRepeats, loop.windowSeconds, nowMs);
      keys.push(this.#prefix + loop.key);
      args.push(1, Math.ceil(loop.windowSeconds * 1000), loop.maxRepeats, randomUUID());
    } else {
      args.push(0, 0, 0, '');
    }
    args.push(buckets.length);
    for (const b of buckets) {
      assertTake(b.rule, nowMs, 1);
      keys.push(this.#prefix + b.key);
      args.push(b.rule.capacity, b.rule.refillPerSecond);
    }
    let window: { startMs: number; endMs: number } | undefined;
    if (spend) {
      assertCharge(spend.cost, spend.budget, spend.windowSeconds, nowMs);
      window = fixedWindow(spend.windowSeconds, nowMs);
      keys.push(`${this.#prefix}${spend.key}:${window.startMs}`);
      args.push(1, spend.cost, spend.budget, window.endMs - nowMs + 1000);
    } else {
      args.push(0, 0, 0, 0);
    }
    const what = replay ? 'replay store and governors' : 'governors';
    const [step, a, count] = integers(
      await stateUnavailable(this.#client, what, () => DECIDE.run(this.#client, keys, args)),
      3,
    ) as [number, number, number];
    // Session caps: one more atomic charge each, only for a call everything else allowed.
    if (step === 0) return chargeSessions(this.#spend, plan);
    if (step === -2) return 'replayed';
    if (step === -1)
      return {
        refused: 'spend',
        spent: a,
        retryAfterSeconds: retryAfterSecondsFromMs(window!.endMs - nowMs),
      };
    if (step === 1 && loop)
      return { refused: 'loop', count, retryAfterSeconds: retryAfterSecondsFromMs(a) };
    const bucket = buckets[step - 2];
    if (!bucket) throw new Error(`unexpected step ${step} from the governor script`);
    return { refused: bucket.limit, retryAfterSeconds: retryAfterSecondsFromMs(a) };
  }
}

/** The governor stores on one Redis client, with the one-step plan store. */
export function createRedisGovernorStores(options: RedisGovernorStoreOptions): GovernorStores {
  return {
    kind: 'redis',
    rate: new RedisRateLimitStore(options),
    spend: new RedisSpendStore(options),
    loop: new RedisLoopStore(options),
    plan: new RedisGovernorPlanStore(options),
  };
}
