import type { Admission } from '../../ports/admission.ts';
import type { GovernorPlan, GovernorVerdict } from '../../ports/governors.ts';
import { checkPrefix, stateUnavailable, type RedisClient } from './client.ts';
import { RedisGovernorPlanStore, type RedisGovernorStoreOptions } from './governor-stores.ts';
import { replayEntry } from './replay-store.ts';
import type { RedisSafety } from './safety.ts';
import type { ClaimId } from '../../ports/stores.ts';

/**
 * Consumes a claim id and decides the governors in one Lua script: one round
 * trip to Redis per admitted call instead of two. The claim id key is the
 * same one `RedisReplayStore` writes, so both paths see every consumed id.
 */
export class RedisAdmission implements Admission {
  readonly #plans: RedisGovernorPlanStore;
  readonly #prefix: string;
  readonly #safety: RedisSafety | undefined;
  readonly #client: RedisClient;

  constructor(options: RedisGovernorStoreOptions & { safety?: RedisSafety }) {
    this.#plans = new RedisGovernorPlanStore(options);
    this.#prefix = checkPrefix(options.prefix);
    this.#safety = options.safety;
    this.#client = options.client;
  }

  async admit(
    id: ClaimId,
    expiresAtMs: number,
    plan: GovernorPlan,
  ): Promise<'replayed' | GovernorVerdict> {
    const entry = replayEntry(this.#prefix, id, expiresAtMs);
    if (this.#safety) {
      const safety = this.#safety;
      await stateUnavailable(this.#client, 'admission', () => safety.ensure());
      safety.admits(id.iat);
    }
    return this.#plans.admit(entry, plan);
  }
}
