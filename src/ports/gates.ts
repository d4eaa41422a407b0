import type { GovernorPlan, GovernorVerdict } from './governors.ts';

export interface GovernedCall {
  principal: string;
  tenant: string;
  toolId: string;
  argsHash: string;
  cost: number;
  /** The claim's `sid`, if any: per-session caps apply. */
  session?: string | undefined;
}

/** The governors as the executor sees them (rate, spend, loop: src/governors). */
export interface GovernorGate {
  /** What this call asks of each governor that is on, for an Admission to decide. */
  plan(call: GovernedCall): GovernorPlan;
  /** Decides a plan with the governors' own stores (loop guard, buckets, spend; the first refusal stops the rest). */
  decide(plan: GovernorPlan): Promise<GovernorVerdict>;
  /** The contract error for a refused plan. */
  refusal(verdict: Exclude<GovernorVerdict, { refused: undefined }>, cost: number): Error;
}

/** Bounded concurrency per tenant under a global cap (src/governors/concurrency). */
export interface ConcurrencyGate {
  run<T>(tenant: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T>;
}

/** The circuit breaker per session (src/governors/breaker.ts). */
export interface SessionGate {
  /** Refuses (`session_paused`) a call of a paused session. */
  check(tenant: string, session: string): Promise<void>;
  /** Counts one refusal or failure of a verified claim of a session. */
  record(tenant: string, session: string, code: string): Promise<void>;
}
