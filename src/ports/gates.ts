import type { GovernorPlan, GovernorVerdict } from './governors.ts';

export interface GovernedCall {
  principal: string;
  tenant: string;
  toolId: string;
  argsHash: string;
  cost: number;
}

/** The governors as the executor sees them (rate, spend, loop: src/governors). */
export interface GovernorGate {
  check(call: GovernedCall): Promise<void>;
  /** What `check` would ask of the stores, for an AdmissionStep to decide in one go. */
  plan?(call: GovernedCall): GovernorPlan;
  /** The contract error for a refused plan. */
  refusal?(verdict: Exclude<GovernorVerdict, { refused: undefined }>, cost: number): Error;
}

/**
 * Optional, for shared state: consume a claim id and decide the governors'
 * plan in one atomic step (one round trip instead of two). A replayed claim
 * is `'replayed'` and charges nothing, exactly as the two steps in a row.
 */
export interface AdmissionStep {
  admit(
    id: { iss: string; jti: string },
    expiresAtMs: number,
    plan: GovernorPlan,
  ): Promise<'replayed' | GovernorVerdict>;
}

/** Bounded concurrency per tenant under a global cap (src/governors/concurrency). */
export interface ConcurrencyGate {
  run<T>(tenant: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T>;
}
