import type { Admission } from '../../ports/admission.ts';
import type { GovernorPlan, GovernorVerdict } from '../../ports/governors.ts';
import { checkPrefix } from './client.ts';
import { RedisGovernorPlanStore, type RedisGovernorStoreOptions } from './governor-stores.ts';
import { replayEntry } from './replay-store.ts';

/**
 * Consumes a claim id and decides the governors in one Lua script: one round
 * trip to Redis per admitted call instead of two. The claim id key is the
 * same one `RedisReplayStore` writes, so both paths see every consumed id.
 */
export class RedisAdmission implements Admission {
  readonly #plans: RedisGovernorPlanStore;
  readonly #prefix: string;

  constructor(options: RedisGovernorStoreOptions) {
    this.#plans = new RedisGovernorPlanStore(options);
    this.#prefix = checkPrefix(options.prefix);
  }

  admit(
    id: { iss: string; jti: string },
    expiresAtMs: number,
    plan: GovernorPlan,
  ): Promise<'replayed' | GovernorVerdict> {
    return this.#plans.admit(replayEntry(this.#prefix, id, expiresAtMs), plan);
  }
}
