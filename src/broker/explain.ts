import { toToolcageError } from '../errors/toolcage-error.ts';
import type { DecisionRecord, Explanation } from './decision.ts';

/** Whether `approver` may approve the request for one call (`policy explain --action approve`). */
export interface ApprovalQuestion {
  tool: string;
  args: unknown;
  /** Who asked for the call. */
  sub: string;
  tenant: string;
  session?: string | undefined;
  approver: string;
  approverRoles: readonly string[];
}

/**
 * Runs a decision for explanation only: what it decided on the way
 * (`trace`), and the refusal as data instead of a throw.
 */
function explained(
  base: Pick<Explanation, 'tool'> & Partial<Explanation>,
  policyHash: string,
  decide: (trace: Partial<Explanation>) => DecisionRecord,
): Explanation {
  const trace: Partial<Explanation> = {};
  try {
    const pol = decide(trace);
    return { ...trace, ...base, allowed: true, pol };
  } catch (err) {
    const e = toToolcageError(err);
    return {
      ...trace,
      ...base,
      allowed: false,
      error: { code: e.code, message: e.message },
      pol: trace.pol ?? { h: policyHash, ids: [] },
    };
  }
}

/** The decision for a call, without minting or consuming anything. */
export function explainCall(
  req: { tool: string },
  policyHash: string,
  decide: (trace: Partial<Explanation>) => DecisionRecord,
): Explanation {
  return explained({ tool: req.tool }, policyHash, decide);
}

/**
 * The decision approving the request for a call would get, without opening
 * or deciding anything: the role rule, self-approval, then Cedar's `approve`.
 */
export function explainApproval(
  req: ApprovalQuestion,
  policyHash: string,
  decide: (trace: Partial<Explanation>) => DecisionRecord,
): Explanation {
  return explained(
    {
      action: 'approve',
      tool: req.tool,
      approver: req.approver,
      approverRoles: [...req.approverRoles],
    },
    policyHash,
    decide,
  );
}
