import { ToolcageError, toToolcageError } from '../errors/toolcage-error.ts';
import type { ConditionEngine } from '../policy/conditions.ts';
import type { Registry } from '../registry/registry.ts';
import {
  approverRolesFor,
  assertMayDecide,
  type Actor,
  type ApprovalRules,
} from './approval-rules.ts';
import type { ApprovalRecord } from './approval-store.ts';
import { conditionRefusal, type DecisionRecord, type Explanation } from './decision.ts';
import { renderFor } from './render.ts';

/** The facts of the request being approved that the decision reads. */
export type ApprovedRequest = Pick<ApprovalRecord, 'tool' | 'tenant' | 'sub' | 'argsJson'> & {
  session?: string | undefined;
};

export interface ApproveDecisionInput {
  rules: ApprovalRules;
  conditions?: ConditionEngine | undefined;
  policyHash: string;
  registry: () => Registry;
  actor: Actor;
  record: ApprovedRequest;
  nowMs: number;
}

export interface ApproveDecision {
  /** A self-approval the policy allows. */
  self: boolean;
  /** What decided: `approver:<role>` for the approver roles that cover the request, then the Cedar permits. */
  pol: DecisionRecord;
}

/**
 * Whether `actor` may approve `record`: the role rule (an approver role for
 * the tool and tenant; no self-approval unless the policy allows it) AND, when
 * the policy has Cedar conditions, Cedar's `approve` action says Allow
 * (principal: the approver; resource: the tool; context: the request's
 * arguments, rendered scopes, session, tenant and requester). Deny by default;
 * an evaluation error, or a request whose tool or arguments no longer render,
 * never allows. Throws `policy_denied`; `trace` collects what was decided.
 */
export function decideApprove(
  input: ApproveDecisionInput,
  trace: Partial<Explanation> = {},
): ApproveDecision {
  const { actor, record } = input;
  const roles = approverRolesFor(input.rules, actor, record);
  trace.roles = roles;
  trace.pol = { h: input.policyHash, ids: roles.map((r) => `approver:${r}`) };
  const self = assertMayDecide(input.rules, actor, record);
  trace.selfApproval = self;
  const ids = roles.map((r) => `approver:${r}`);
  const c = input.conditions;
  if (c) {
    const tool = input.registry().get(record.tool);
    if (!tool)
      throw new ToolcageError('policy_denied', {
        message: `${record.tool} is no longer in the registry, so the policy conditions on approving it cannot be evaluated; nothing was approved.`,
      });
    let args: unknown;
    let rendered: string[];
    try {
      args = JSON.parse(record.argsJson ?? '') as unknown;
      rendered = renderFor(tool, args);
    } catch (cause) {
      // The request's arguments no longer fit the tool (its manifest changed): fail closed.
      throw new ToolcageError('policy_denied', {
        message: `The arguments of this request no longer fit ${record.tool} (${toToolcageError(cause).message}), so the policy conditions on approving it cannot be evaluated; nothing was approved.`,
        cause,
      });
    }
    trace.renderedScope = rendered;
    const verdict = c.evaluate({
      action: 'approve',
      manifest: tool.manifest,
      sub: actor.subject,
      roles: actor.roles,
      tenant: record.tenant,
      requester: record.sub,
      args,
      rendered,
      session: record.session,
      nowMs: input.nowMs,
    });
    trace.cedar = {
      decision: verdict.allowed ? 'allow' : 'deny',
      policies: verdict.policyIds,
      errors: verdict.errors,
    };
    trace.pol = { h: input.policyHash, ids: [...ids, ...verdict.policyIds] };
    if (!verdict.allowed) throw conditionRefusal(record.tool, verdict, 'approve');
    ids.push(...verdict.policyIds);
  }
  return { self, pol: { h: input.policyHash, ids } };
}
