import { ToolcageError } from '../errors/toolcage-error.ts';
import type { ConditionVerdict, PolicyProblem } from '../policy/conditions.ts';

/** The claim's `pol`: the policy set hash and the rules that decided (`role:<name>`, Cedar policy ids). */
export interface DecisionRecord {
  h: string;
  ids: string[];
}

/**
 * The refusal for a Cedar verdict that did not allow: fail closed on errors,
 * else name the forbids. `action` says what was refused: a call, or approving one.
 */
export function conditionRefusal(
  toolId: string,
  v: ConditionVerdict,
  action: 'call' | 'approve' = 'call',
): ToolcageError {
  const what =
    action === 'call' ? `this call to ${toolId}` : `approving this request for ${toolId}`;
  if (v.errors.length > 0)
    return new ToolcageError('policy_denied', {
      message: `A policy condition could not be evaluated for ${action === 'call' ? toolId : what} (${v.errors.map((e) => `${e.policyId}: ${e.message}`).join('; ')}); an evaluation error never allows. Fix the policy${action === 'call' ? ' or the arguments' : ''}.`,
      details: { policies: v.errors.map((e) => e.policyId) },
    });
  return new ToolcageError('policy_denied', {
    message:
      v.policyIds.length > 0
        ? `The policy ${v.policyIds.join(', ')} forbids ${what}.`
        : `No policy condition permits ${what} (deny by default).`,
    hint: 'explain_policy',
    details: { policies: v.policyIds },
  });
}

/** What the policy decided for one call, and why; `toolcage policy explain` prints it. */
export interface Explanation {
  allowed: boolean;
  /** What was decided: a call (the default), or approving someone's call. */
  action?: 'call' | 'approve';
  tool: string;
  /** For `approve`: who would approve, and the roles they hold. */
  approver?: string;
  approverRoles?: string[];
  /** For `approve`: it would be a self-approval the policy allows. */
  selfApproval?: boolean;
  /** The refusal when not allowed. */
  error?: { code: string; message: string };
  /** The decision record a claim would carry (`pol`). */
  pol: DecisionRecord;
  scope?: string[];
  renderedScope?: string[];
  ttlSeconds?: number;
  approvalRequired?: boolean;
  /** The roles whose grants allowed the tool and scopes (for `approve`: the approver roles). */
  roles?: string[];
  cedar?: { decision: 'allow' | 'deny'; policies: string[]; errors: PolicyProblem[] };
}
