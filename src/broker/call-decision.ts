import type { ConditionEngine } from '../policy/conditions.ts';
import { checkSession } from '../policy/session-id.ts';
import type { LoadedTool } from '../registry/registry.ts';
import { conditionRefusal, type DecisionRecord, type Explanation } from './decision.ts';
import { decide, type Policy, type PolicyDecision } from './policy.ts';
import { renderFor, validateFor } from './render.ts';

/** What a call is decided against: the YAML policy, the Cedar conditions, the registry. */
export interface CallPolicy {
  policy: Policy;
  conditions?: ConditionEngine | undefined;
  policyHash: string;
  /** The registered tool, or the `tool_not_allowed` refusal. */
  tool(id: string): LoadedTool;
}

/** The facts of one call the decision reads. */
export interface CallQuestion {
  tool: string;
  args: unknown;
  sub: string;
  roles: readonly string[];
  tenant: string;
  scope?: string[] | undefined;
  ttlSeconds?: number | undefined;
  session?: string | undefined;
}

/**
 * The whole policy decision for one call, without approvals or minting:
 * roles and scopes (YAML), rendered scopes, then Cedar conditions. Throws
 * the refusal; `trace` collects what was decided on the way.
 */
export function decideCall(
  p: CallPolicy,
  req: CallQuestion,
  nowMs: number,
  trace: Partial<Explanation> = {},
): { tool: LoadedTool; decision: PolicyDecision; pol: DecisionRecord } {
  const tool = p.tool(req.tool);
  checkSession(req.session);
  const rendered = renderFor(tool, req.args);
  trace.renderedScope = rendered;
  const decision = decide(p.policy, tool.manifest, req.roles, {
    ...(req.ttlSeconds !== undefined ? { ttlSeconds: req.ttlSeconds } : {}),
    ...(req.scope ? { scope: req.scope } : {}),
    rendered,
  });
  Object.assign(trace, {
    scope: decision.scope,
    ttlSeconds: decision.ttlSeconds,
    approvalRequired: decision.approvalRequired,
    roles: decision.roles,
  });
  const ids = decision.roles.map((r) => `role:${r}`);
  const c = p.conditions;
  if (c) {
    if (rendered.length === 0) validateFor(tool, req.args);
    const verdict = c.evaluate({
      manifest: tool.manifest,
      sub: req.sub,
      roles: req.roles,
      tenant: req.tenant,
      args: req.args,
      rendered,
      session: req.session,
      nowMs,
    });
    trace.cedar = {
      decision: verdict.allowed ? 'allow' : 'deny',
      policies: verdict.policyIds,
      errors: verdict.errors,
    };
    trace.pol = { h: p.policyHash, ids: [...ids, ...verdict.policyIds] };
    if (!verdict.allowed) throw conditionRefusal(tool.manifest.id, verdict);
    ids.push(...verdict.policyIds);
  }
  return { tool, decision, pol: { h: p.policyHash, ids } };
}
