import type { Admission } from '../ports/admission.ts';
import type { GovernorPlan, GovernorVerdict } from '../ports/governors.ts';
import type { ReplayStore } from '../ports/stores.ts';

/**
 * The embedded stores' admission: consume the claim id, then decide the
 * plan, in sequence. A replayed claim stops before any governor is asked,
 * so it charges nothing, as the one-script Redis admission.
 */
export class SequentialAdmission implements Admission {
  readonly #replay: ReplayStore;
  readonly #decide: (plan: GovernorPlan) => Promise<GovernorVerdict>;

  constructor(options: {
    replay: ReplayStore;
    /** Decides a plan; without it (no governors) every plan is allowed. */
    decide?: (plan: GovernorPlan) => Promise<GovernorVerdict>;
  }) {
    this.#replay = options.replay;
    this.#decide = options.decide ?? (() => Promise.resolve({ refused: undefined }));
  }

  async admit(
    id: { iss: string; jti: string },
    expiresAtMs: number,
    plan: GovernorPlan,
  ): Promise<'replayed' | GovernorVerdict> {
    if (!(await this.#replay.consume(id, expiresAtMs))) return 'replayed';
    return this.#decide(plan);
  }
}
