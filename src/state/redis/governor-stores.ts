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
import { checkPrefix, stateUnavailable, type RedisClient } from './client.ts';
import { CHARGE, DECIDE, HIT, TAKE } from './governor-scripts.ts';
import { redisGovernorSnapshot } from './governor-snapshot.ts';

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

/** The governor stores on one Redis client, with the one-step plan store and a bounded snapshot. */
export function createRedisGovernorStores(options: RedisGovernorStoreOptions): GovernorStores {
  const prefix = checkPrefix(options.prefix);
  return {
    kind: 'redis',
    rate: new RedisRateLimitStore(options),
    spend: new RedisSpendStore(options),
    loop: new RedisLoopStore(options),
    plan: new RedisGovernorPlanStore(options),
    snapshot: (query) => redisGovernorSnapshot({ client: options.client, prefix, query }),
  };
}
