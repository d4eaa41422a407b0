/** A governor plan decided against the stores: in one atomic step where they can, else store by store. */
import type {
  GovernorPlan,
  GovernorStores,
  GovernorVerdict,
  SpendStore,
} from '../ports/governors.ts';
import { MemoryLoopStore, MemoryRateLimitStore, MemorySpendStore } from './memory-stores.ts';

// The embedded (in-memory) stores answer at once through their `…Now` methods: a plan is then
// decided without an await per store (five or more per call), with the same rules and order.
// Any other store (a test's, a wrapper) is asked through its async interface.

/**
 * The plan's session caps, charged in order after the rest allowed the call
 * (shared with the Redis admission step, which decides the rest in one script).
 */
export async function chargeSessions(
  store: SpendStore,
  plan: GovernorPlan,
): Promise<GovernorVerdict> {
  for (const c of plan.session ?? []) {
    const d =
      store instanceof MemorySpendStore
        ? store.chargeNow(c.key, c.cost, c.budget, c.windowSeconds, plan.nowMs)
        : await store.charge(c.key, c.cost, c.budget, c.windowSeconds, plan.nowMs);
    if (!d.allowed)
      return { refused: c.limit, retryAfterSeconds: d.retryAfterSeconds, spent: d.spent };
  }
  return { refused: undefined };
}

/** Decides a plan with `stores`: in one atomic step where they can (GovernorPlanStore), else store by store. */
export function decidePlan(stores: GovernorStores, plan: GovernorPlan): Promise<GovernorVerdict> {
  return stores.plan ? stores.plan.decideAll(plan) : decideOneByOne(stores, plan);
}

/** The plan decided store by store: loop guard, then each bucket, then spend; a refusal stops the rest. */
async function decideOneByOne(
  stores: GovernorStores,
  plan: GovernorPlan,
): Promise<GovernorVerdict> {
  const { loop, rate, spend } = stores;
  if (plan.loop) {
    const { key, maxRepeats, windowSeconds } = plan.loop;
    const d =
      loop instanceof MemoryLoopStore
        ? loop.hitNow(key, maxRepeats, windowSeconds, plan.nowMs)
        : await loop.hit(key, maxRepeats, windowSeconds, plan.nowMs);
    if (!d.allowed)
      return { refused: 'loop', retryAfterSeconds: d.retryAfterSeconds, count: d.count };
  }
  for (const b of plan.buckets) {
    const d =
      rate instanceof MemoryRateLimitStore
        ? rate.takeNow(b.key, b.rule, plan.nowMs, 1)
        : await rate.take(b.key, b.rule, plan.nowMs, 1);
    if (!d.allowed) return { refused: b.limit, retryAfterSeconds: d.retryAfterSeconds };
  }
  if (plan.spend) {
    const { key, cost, budget, windowSeconds } = plan.spend;
    const d =
      spend instanceof MemorySpendStore
        ? spend.chargeNow(key, cost, budget, windowSeconds, plan.nowMs)
        : await spend.charge(key, cost, budget, windowSeconds, plan.nowMs);
    if (!d.allowed)
      return { refused: 'spend', retryAfterSeconds: d.retryAfterSeconds, spent: d.spent };
  }
  return chargeSessions(stores.spend, plan);
}
