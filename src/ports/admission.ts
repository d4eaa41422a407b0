import type { GovernorPlan, GovernorVerdict } from './governors.ts';
import type { ClaimId } from './claims.ts';

/**
 * Admits one call: spends its claim id, then decides the governors' plan.
 * A replayed claim is `'replayed'` and charges nothing; otherwise the claim
 * is spent whatever the verdict. The embedded stores run the two steps in
 * sequence (src/governors/admission.ts); Redis runs both in one Lua script
 * (src/state/redis/admission.ts), one round trip per call.
 */
export interface Admission {
  admit(
    id: ClaimId,
    expiresAtMs: number,
    plan: GovernorPlan,
  ): Promise<'replayed' | GovernorVerdict>;
}
