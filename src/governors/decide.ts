/** A governor plan decided against the stores: in one atomic step where they can, else store by store. */
import type {
  GovernorPlan,
  GovernorStores,
  GovernorVerdict,
  SpendStore,
} from '../ports/governors.ts';

/**
 * The plan's session caps, charged in order after the rest allowed the call
 * (shared with the Redis admission step, which decides the rest in one script).
 */
export async function chargeSessions(
  store: SpendStore,
  plan: GovernorPlan,
): Promise<GovernorVerdict> {
  for (const c of plan.session ?? []) {
    const d = await store.charge(c.key, c.cost, c.budget, c.windowSeconds, plan.nowMs);
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
  if (plan.loop) {
    const d = await stores.loop.hit(
      plan.loop.key,
      plan.loop.maxRepeats,
      plan.loop.windowSeconds,
      plan.nowMs,
    );
    if (!d.allowed)
      return { refused: 'loop', retryAfterSeconds: d.retryAfterSeconds, count: d.count };
  }
  for (const b of plan.buckets) {
    const d = await stores.rate.take(b.key, b.rule, plan.nowMs, 1);
    if (!d.allowed) return { refused: b.limit, retryAfterSeconds: d.retryAfterSeconds };
  }
  if (plan.spend) {
    const d = await stores.spend.charge(
      plan.spend.key,
      plan.spend.cost,
      plan.spend.budget,
      plan.spend.windowSeconds,
      plan.nowMs,
    );
    if (!d.allowed)
      return { refused: 'spend', retryAfterSeconds: d.retryAfterSeconds, spent: d.spent };
  }
  return chargeSessions(stores.spend, plan);
}
