import { ExpiringMap } from './expiring-map.ts';
import { retryAfterSecondsFromMs } from './keys.ts';
import type {
  GovernorSnapshot,
  GovernorSnapshotQuery,
  GovernorStateEntry,
  GovernorStores,
  LoopDecision,
  LoopStore,
  RateDecision,
  RateLimitStore,
  SpendDecision,
  SpendStore,
  TokenBucketRule,
} from '../ports/governors.ts';
import { assertCharge, assertHit, assertTake, fixedWindow, snapshotLimit } from './validate.ts';
import { tenantPrefix } from './keys.ts';

/**
 * In-memory governor stores: one process, not shared. They are right for a
 * single runner and for unit tests; several replicas need the Redis stores
 * (`src/state/redis/`), or each replica would grant the whole budget again.
 *
 * All three use the caller's `nowMs` and nothing else, so a test can freeze
 * the clock. Keys are held in a `Map` (attacker-chosen strings such as
 * `__proto__` are ordinary keys) and every entry expires, so memory is
 * bounded by the keys active within their windows.
 */

/** Floating-point slack, so that 20 ms at 50 tokens/s is one whole token. */
const EPSILON = 1e-9;

interface Bucket {
  tokens: number;
  updatedAtMs: number;
}

/**
 * Token buckets. A bucket starts full; it refills at `refillPerSecond` up to
 * `capacity`. An entry expires once the bucket would be full again, since a
 * full bucket and an absent one behave alike.
 */
export class MemoryRateLimitStore implements RateLimitStore {
  readonly #buckets = new ExpiringMap<Bucket>();

  async take(key: string, rule: TokenBucketRule, nowMs: number, cost = 1): Promise<RateDecision> {
    return this.takeNow(key, rule, nowMs, cost);
  }

  /** `take`, answered at once (the embedded governors decide a plan without an await per store). */
  takeNow(key: string, rule: TokenBucketRule, nowMs: number, cost = 1): RateDecision {
    assertTake(rule, nowMs, cost);
    const bucket = this.#buckets.get(key, nowMs) ?? { tokens: rule.capacity, updatedAtMs: nowMs };
    // A clock that steps back adds nothing and never moves the bucket's time back.
    const elapsedMs = Math.max(0, nowMs - bucket.updatedAtMs);
    let tokens = Math.min(rule.capacity, bucket.tokens + (elapsedMs * rule.refillPerSecond) / 1000);
    const updatedAtMs = Math.max(nowMs, bucket.updatedAtMs);
    let decision: RateDecision;
    if (tokens + EPSILON >= cost) {
      tokens = Math.max(0, tokens - cost);
      decision = { allowed: true, retryAfterSeconds: 0 };
    } else {
      decision = {
        allowed: false,
        retryAfterSeconds: retryAfterSecondsFromMs(((cost - tokens) * 1000) / rule.refillPerSecond),
      };
    }
    const fullAtMs =
      updatedAtMs + Math.ceil(((rule.capacity - tokens) * 1000) / rule.refillPerSecond);
    if (fullAtMs > nowMs) this.#buckets.set(key, { tokens, updatedAtMs }, fullAtMs, nowMs);
    else this.#buckets.delete(key);
    return decision;
  }

  /** Number of buckets held (for tests of boundedness). */
  get size(): number {
    return this.#buckets.size;
  }

  *entries(nowMs: number): Generator<GovernorStateEntry> {
    for (const [key, b] of this.#buckets.live(nowMs))
      yield { kind: 'bucket', key, tokens: b.tokens, updatedAtMs: b.updatedAtMs };
  }
}

interface WindowSpend {
  startMs: number;
  spent: number;
}

/**
 * Fixed-window budgets. A charge that would pass the budget is refused and
 * not recorded, so a refused call costs nothing.
 */
export class MemorySpendStore implements SpendStore {
  readonly #windows = new ExpiringMap<WindowSpend>();

  async charge(
    key: string,
    cost: number,
    budget: number,
    windowSeconds: number,
    nowMs: number,
  ): Promise<SpendDecision> {
    return this.chargeNow(key, cost, budget, windowSeconds, nowMs);
  }

  /** `charge`, answered at once. */
  chargeNow(
    key: string,
    cost: number,
    budget: number,
    windowSeconds: number,
    nowMs: number,
  ): SpendDecision {
    assertCharge(cost, budget, windowSeconds, nowMs);
    const window = fixedWindow(windowSeconds, nowMs);
    const current = this.#windows.get(key, nowMs);
    const spent = current !== undefined && current.startMs === window.startMs ? current.spent : 0;
    const retryAfterSeconds = retryAfterSecondsFromMs(window.endMs - nowMs);
    if (spent + cost > budget) return { allowed: false, spent, retryAfterSeconds };
    this.#windows.set(key, { startMs: window.startMs, spent: spent + cost }, window.endMs, nowMs);
    return { allowed: true, spent: spent + cost, retryAfterSeconds };
  }

  get size(): number {
    return this.#windows.size;
  }

  *entries(nowMs: number): Generator<GovernorStateEntry> {
    for (const [key, w] of this.#windows.live(nowMs))
      yield { kind: 'window', key, spent: w.spent, windowStartMs: w.startMs };
  }
}

/**
 * Sliding-window counts of identical calls. Only allowed calls are recorded,
 * so an entry holds at most `maxRepeats` times, and `retryAfterSeconds` is
 * exactly when the oldest of them leaves the window.
 */
export class MemoryLoopStore implements LoopStore {
  readonly #hits = new ExpiringMap<number[]>();

  async hit(
    key: string,
    maxRepeats: number,
    windowSeconds: number,
    nowMs: number,
  ): Promise<LoopDecision> {
    return this.hitNow(key, maxRepeats, windowSeconds, nowMs);
  }

  /** `hit`, answered at once. */
  hitNow(key: string, maxRepeats: number, windowSeconds: number, nowMs: number): LoopDecision {
    assertHit(maxRepeats, windowSeconds, nowMs);
    const windowMs = Math.ceil(windowSeconds * 1000);
    // The window is (nowMs - windowMs, nowMs]: a call exactly windowMs old has left it.
    const times = (this.#hits.get(key, nowMs) ?? []).filter((t) => t > nowMs - windowMs);
    if (times.length >= maxRepeats) {
      const oldest = times[0] ?? nowMs;
      this.#hits.set(key, times, Math.max(...times) + windowMs, nowMs);
      return {
        allowed: false,
        count: times.length,
        retryAfterSeconds: retryAfterSecondsFromMs(oldest + windowMs - nowMs),
      };
    }
    times.push(nowMs);
    times.sort((a, b) => a - b);
    this.#hits.set(key, times, (times.at(-1) ?? nowMs) + windowMs, nowMs);
    return { allowed: true, count: times.length, retryAfterSeconds: 0 };
  }

  get size(): number {
    return this.#hits.size;
  }

  *entries(nowMs: number): Generator<GovernorStateEntry> {
    for (const [key, hitsMs] of this.#hits.live(nowMs))
      yield { kind: 'loop', key, hitsMs: [...hitsMs] };
  }
}

/** The three governor stores, in memory, with a snapshot of what they hold (this process only). */
export function createMemoryGovernorStores(): GovernorStores {
  const rate = new MemoryRateLimitStore();
  const spend = new MemorySpendStore();
  const loop = new MemoryLoopStore();
  return {
    kind: 'memory',
    rate,
    spend,
    loop,
    async snapshot(query: GovernorSnapshotQuery): Promise<GovernorSnapshot> {
      const limit = snapshotLimit(query.limit);
      const only = query.tenant === undefined ? undefined : tenantPrefix(query.tenant);
      const { nowMs } = query;
      const entries: GovernorStateEntry[] = [];
      for (const source of [rate.entries(nowMs), spend.entries(nowMs), loop.entries(nowMs)])
        for (const e of source) {
          if (only !== undefined && !e.key.startsWith(only)) continue;
          if (entries.length >= limit) return { entries, truncated: true };
          entries.push(e);
        }
      return { entries, truncated: false };
    },
  };
}
