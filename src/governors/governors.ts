import { ToolcageError } from '../errors/toolcage-error.ts';
import { parseGovernorsConfig, type GovernorsConfig, type GovernorsConfigInput } from './config.ts';
import { tenantKey } from './keys.ts';
import type {
  GovernorPlan,
  GovernorStores,
  GovernorVerdict,
  SpendStore,
} from '../ports/governors.ts';
import { assertNonNegativeInteger, assertTime } from './validate.ts';

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

/** One call as the governors see it: after the claim is verified, so every field is from the signed claim or the registry. */
export interface GovernorCheck {
  /** The claim's `sub`. */
  principal: string;
  /** The claim's `tenant`. */
  tenant: string;
  /** The registry's tool id. */
  toolId: string;
  /** The claim's `args_hash` (already checked against the arguments). */
  argsHash: string;
  /** The manifest's `cost`, charged to the tenant's spend budget. */
  cost: number;
  /** The claim's `sid`, when the call belongs to a session: charged to the session's caps too. */
  session?: string | undefined;
  /** Defaults to the governors' clock; tests pass a frozen time. */
  nowMs?: number;
}

export interface GovernorsOptions {
  /** Parsed or raw; raw input is parsed with `governorsConfigSchema` (a TypeError when invalid). */
  config?: GovernorsConfigInput | GovernorsConfig;
  stores: GovernorStores;
  /** Milliseconds since the epoch; defaults to `Date.now`. */
  clock?: () => number;
}

type Limit = 'principal' | 'tool' | 'tenant';

const LIMIT_WORDING: Record<Limit, string> = {
  principal: 'this principal',
  tool: 'this tool in this tenant',
  tenant: 'this tenant',
};

/**
 * The runner's brakes, decided once per call after the claim is verified:
 *
 * 1. loop guard (`loop_detected`): the same principal, tool and args hash
 *    more than `maxRepeats` times within the sliding window;
 * 2. rate limits (`rate_limited`): token buckets per principal, per tool
 *    and per tenant, in that order (the first that refuses names itself);
 * 3. spend (`quota_exceeded`): the call's `cost` against the tenant's budget
 *    for the current window. Only a call every rate limit allowed is charged.
 *
 * Each refusal carries `retryAfterSeconds`. Stores fail closed: when they are
 * unreachable `check` rejects with their `state_unavailable` and nothing runs.
 *
 * A token taken by an earlier bucket is not given back when a later one
 * refuses: a caller pushing against a limit pays for trying, which is the
 * conservative side.
 *
 * @example
 * ```ts
 * const governors = new Governors({ stores: createMemoryGovernorStores() });
 * await governors.check({ principal: 'alice', tenant: 'acme', toolId: 'text.word_count', argsHash, cost: 1 });
 * ```
 */
export class Governors {
  readonly config: GovernorsConfig;
  readonly #stores: GovernorStores;
  readonly #clock: () => number;

  constructor(options: GovernorsOptions) {
    if (options === null || typeof options !== 'object')
      throw new TypeError(`Expected an options object, got ${String(options)}`);
    const { stores } = options;
    if (
      stores === null ||
      typeof stores !== 'object' ||
      !stores.rate ||
      !stores.spend ||
      !stores.loop
    ) {
      throw new TypeError('Expected options.stores to hold rate, spend and loop stores');
    }
    this.config = parseGovernorsConfig(options.config);
    this.#stores = stores;
    this.#clock = options.clock ?? Date.now;
  }

  /** The store kind (`memory`, `redis`), for readiness. */
  get storesKind(): string {
    return this.#stores.kind;
  }

  /** Resolves when the call may go ahead; rejects with `loop_detected`, `rate_limited`, `quota_exceeded` or `state_unavailable`. */
  async check(call: GovernorCheck): Promise<void> {
    const verdict = await this.decide(this.plan(call));
    if (verdict.refused !== undefined) throw this.refusal(verdict, call.cost);
  }

  /** Decides a plan with this instance's stores: in one step where they can, else store by store. */
  decide(plan: GovernorPlan): Promise<GovernorVerdict> {
    return decidePlan(this.#stores, plan);
  }

  /** What this call asks of each governor that is on, in the order they decide. */
  plan(call: GovernorCheck): GovernorPlan {
    const nowMs = call.nowMs ?? this.#clock();
    assertTime('nowMs', nowMs);
    assertNonNegativeInteger('cost', call.cost);
    for (const [name, value] of Object.entries({
      principal: call.principal,
      tenant: call.tenant,
      toolId: call.toolId,
      argsHash: call.argsHash,
    })) {
      if (typeof value !== 'string' || value === '')
        throw new TypeError(`Expected ${name} to be a non-empty string, got ${String(value)}`);
    }
    const { loopGuard, rateLimits, spend, sessions } = this.config;
    const buckets: GovernorPlan['buckets'] = [];
    const add = (limit: Limit, key: string, rule: typeof rateLimits.principal) => {
      if (rule.enabled)
        buckets.push({
          limit,
          key,
          rule: { capacity: rule.capacity, refillPerSecond: rule.refillPerSecond },
        });
    };
    add(
      'principal',
      tenantKey(call.tenant, 'rate', 'principal', call.principal),
      rateLimits.principal,
    );
    add('tool', tenantKey(call.tenant, 'rate', 'tool', call.toolId), rateLimits.tool);
    add('tenant', tenantKey(call.tenant, 'rate', 'tenant'), rateLimits.tenant);
    return {
      nowMs,
      ...(loopGuard.enabled
        ? {
            loop: {
              key: tenantKey(call.tenant, 'loop', call.principal, call.toolId, call.argsHash),
              maxRepeats: loopGuard.maxRepeats,
              windowSeconds: loopGuard.windowSeconds,
            },
          }
        : {}),
      buckets,
      ...(spend.enabled
        ? {
            spend: {
              key: tenantKey(call.tenant, 'spend'),
              cost: call.cost,
              budget: spend.budget,
              windowSeconds: spend.windowSeconds,
            },
          }
        : {}),
      ...(sessions.enabled && call.session
        ? {
            session: [
              {
                limit: 'session_spend' as const,
                key: tenantKey(call.tenant, 'session-spend', call.session),
                cost: call.cost,
                budget: sessions.budget,
                windowSeconds: sessions.windowSeconds,
              },
              {
                limit: 'session_calls' as const,
                key: tenantKey(call.tenant, 'session-calls', call.session),
                cost: 1,
                budget: sessions.maxCalls,
                windowSeconds: sessions.windowSeconds,
              },
            ],
          }
        : {}),
    };
  }

  /** The contract error (`loop_detected`, `rate_limited`, `quota_exceeded`) for a refused plan. */
  refusal(verdict: Exclude<GovernorVerdict, { refused: undefined }>, cost: number): ToolcageError {
    const { loopGuard, rateLimits, spend } = this.config;
    if (verdict.refused === 'loop') {
      const g = loopGuard as { maxRepeats: number; windowSeconds: number };
      return new ToolcageError('loop_detected', {
        message:
          `Loop guard: this principal made the same call (same tool, same arguments) more than ${g.maxRepeats} times ` +
          `within ${g.windowSeconds} s. Change the arguments, or wait ${verdict.retryAfterSeconds} s before repeating it.`,
        retryAfterSeconds: verdict.retryAfterSeconds,
        details: { limit: 'loop', maxRepeats: g.maxRepeats, windowSeconds: g.windowSeconds },
      });
    }
    if (verdict.refused === 'session_spend' || verdict.refused === 'session_calls') {
      const g = this.config.sessions as { budget: number; maxCalls: number; windowSeconds: number };
      const calls = verdict.refused === 'session_calls';
      return new ToolcageError('quota_exceeded', {
        message: calls
          ? `The session call cap is reached: ${verdict.spent} of ${g.maxCalls} calls in this ${g.windowSeconds} s window. Retry after ${verdict.retryAfterSeconds} s, or start a new session with a human's consent.`
          : `The session spend cap is reached: ${verdict.spent} of ${g.budget} units spent in this ${g.windowSeconds} s window, and this call costs ${cost}. Retry after ${verdict.retryAfterSeconds} s.`,
        retryAfterSeconds: verdict.retryAfterSeconds,
        details: {
          limit: verdict.refused,
          budget: calls ? g.maxCalls : g.budget,
          spent: verdict.spent,
          cost: calls ? 1 : cost,
          windowSeconds: g.windowSeconds,
        },
      });
    }
    if (verdict.refused === 'spend') {
      const g = spend as { budget: number; windowSeconds: number };
      return new ToolcageError('quota_exceeded', {
        message:
          `The tenant spend cap is reached: ${verdict.spent} of ${g.budget} units spent in this ${g.windowSeconds} s window, ` +
          `and this call costs ${cost}. Retry after ${verdict.retryAfterSeconds} s when the window resets, or ask the operator to raise the cap.`,
        retryAfterSeconds: verdict.retryAfterSeconds,
        details: {
          limit: 'spend',
          budget: g.budget,
          spent: verdict.spent,
          cost,
          windowSeconds: g.windowSeconds,
        },
      });
    }
    const rule = rateLimits[verdict.refused] as { capacity: number; refillPerSecond: number };
    return new ToolcageError('rate_limited', {
      message:
        `Rate limit reached for ${LIMIT_WORDING[verdict.refused]} (${rule.refillPerSecond} calls/s, bursts of ${rule.capacity}). ` +
        `Retry after ${verdict.retryAfterSeconds} s, and slow the caller down.`,
      retryAfterSeconds: verdict.retryAfterSeconds,
      details: {
        limit: verdict.refused,
        capacity: rule.capacity,
        refillPerSecond: rule.refillPerSecond,
      },
    });
  }
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
