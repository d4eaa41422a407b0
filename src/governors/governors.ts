import { ToolcageError } from '../errors/toolcage-error.ts';
import { parseGovernorsConfig, type GovernorsConfig, type GovernorsConfigInput } from './config.ts';
import { tenantKey } from './keys.ts';
import type { GovernorStores, TokenBucketRule } from './types.ts';
import { assertNonNegativeInteger, assertTime } from './validate.ts';

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
    if (options === null || typeof options !== 'object') throw new TypeError(`Expected an options object, got ${String(options)}`);
    const { stores } = options;
    if (stores === null || typeof stores !== 'object' || !stores.rate || !stores.spend || !stores.loop) {
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
    const nowMs = call.nowMs ?? this.#clock();
    assertTime('nowMs', nowMs);
    assertNonNegativeInteger('cost', call.cost);
    for (const [name, value] of Object.entries({ principal: call.principal, tenant: call.tenant, toolId: call.toolId, argsHash: call.argsHash })) {
      if (typeof value !== 'string' || value === '') throw new TypeError(`Expected ${name} to be a non-empty string, got ${String(value)}`);
    }
    const { loopGuard, rateLimits, spend } = this.config;

    if (loopGuard.enabled) {
      const key = tenantKey(call.tenant, 'loop', call.principal, call.toolId, call.argsHash);
      const decision = await this.#stores.loop.hit(key, loopGuard.maxRepeats, loopGuard.windowSeconds, nowMs);
      if (!decision.allowed) {
        throw new ToolcageError('loop_detected', {
          message:
            `Loop guard: this principal made the same call (same tool, same arguments) more than ${loopGuard.maxRepeats} times ` +
            `within ${loopGuard.windowSeconds} s. Change the arguments, or wait ${decision.retryAfterSeconds} s before repeating it.`,
          retryAfterSeconds: decision.retryAfterSeconds,
          details: { limit: 'loop', maxRepeats: loopGuard.maxRepeats, windowSeconds: loopGuard.windowSeconds },
        });
      }
    }

    const buckets: [Limit, string, typeof rateLimits.principal][] = [
      ['principal', tenantKey(call.tenant, 'rate', 'principal', call.principal), rateLimits.principal],
      ['tool', tenantKey(call.tenant, 'rate', 'tool', call.toolId), rateLimits.tool],
      ['tenant', tenantKey(call.tenant, 'rate', 'tenant'), rateLimits.tenant],
    ];
    for (const [limit, key, rule] of buckets) {
      if (!rule.enabled) continue;
      const bucketRule: TokenBucketRule = { capacity: rule.capacity, refillPerSecond: rule.refillPerSecond };
      const decision = await this.#stores.rate.take(key, bucketRule, nowMs, 1);
      if (!decision.allowed) {
        throw new ToolcageError('rate_limited', {
          message:
            `Rate limit reached for ${LIMIT_WORDING[limit]} (${rule.refillPerSecond} calls/s, bursts of ${rule.capacity}). ` +
            `Retry after ${decision.retryAfterSeconds} s, and slow the caller down.`,
          retryAfterSeconds: decision.retryAfterSeconds,
          details: { limit, capacity: rule.capacity, refillPerSecond: rule.refillPerSecond },
        });
      }
    }

    if (spend.enabled) {
      const key = tenantKey(call.tenant, 'spend');
      const decision = await this.#stores.spend.charge(key, call.cost, spend.budget, spend.windowSeconds, nowMs);
      if (!decision.allowed) {
        throw new ToolcageError('quota_exceeded', {
          message:
            `The tenant spend cap is reached: ${decision.spent} of ${spend.budget} units spent in this ${spend.windowSeconds} s window, ` +
            `and this call costs ${call.cost}. Retry after ${decision.retryAfterSeconds} s when the window resets, or ask the operator to raise the cap.`,
          retryAfterSeconds: decision.retryAfterSeconds,
          details: { limit: 'spend', budget: spend.budget, spent: decision.spent, cost: call.cost, windowSeconds: spend.windowSeconds },
        });
      }
    }
  }
}
