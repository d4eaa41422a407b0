import type { ToolcageError } from '../errors/toolcage-error.ts';
import { parseGovernorsConfig, type GovernorsConfig, type GovernorsConfigInput } from './config.ts';
import { tenantKey } from './keys.ts';
import type { GovernorPlan, GovernorStores, GovernorVerdict } from '../ports/governors.ts';
import { assertNonNegativeInteger, assertTime } from './validate.ts';
import { decidePlan } from './decide.ts';
import { governorRefusal } from './refusal.ts';

// The Redis admission step charges session caps with the same function.
export { chargeSessions } from './decide.ts';

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

function assertId(name: string, value: unknown): void {
  if (typeof value !== 'string' || value === '')
    throw new TypeError(`Expected ${name} to be a non-empty string, got ${String(value)}`);
}

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
    assertId('principal', call.principal);
    assertId('tenant', call.tenant);
    assertId('toolId', call.toolId);
    assertId('argsHash', call.argsHash);
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
    return governorRefusal(this.config, verdict, cost);
  }
}
