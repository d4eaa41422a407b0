import { ToolcageError } from '../errors/toolcage-error.ts';
import type { ApprovalRecord } from './approval-store.ts';
import { globMatch, type Policy } from './policy.ts';

/** Whoever decides or looks: an authenticated principal (HTTP, console) or the CLI's local one. */
export interface Actor {
  subject: string;
  roles: readonly string[];
  /** Tenants the actor may act for; `['*']` is any. */
  tenants: readonly string[];
  /** How they authenticated (`oidc`, `api_key:<id>`, `cli`). */
  via: string;
}

export interface ApprovalRules {
  policy: Policy;
  /** The config's `broker.approverRoles`: approvers of every tool and tenant. */
  approverRoles: readonly string[];
  /** Roles that may see (never decide) requests of their tenants: `broker.console.viewerRoles`. */
  viewerRoles: readonly string[];
}

function actsFor(actor: Actor, tenant: string): boolean {
  return actor.tenants.includes('*') || actor.tenants.includes(tenant);
}

/** The approver grants the actor's roles carry, from the policy and the config. */
function grants(
  rules: ApprovalRules,
  actor: Actor,
): { role: string; tools: string[]; tenants: string[] }[] {
  return actor.roles.flatMap((r) => [
    ...(Object.hasOwn(rules.policy.approvers, r)
      ? [{ ...rules.policy.approvers[r]!, role: r }]
      : []),
    ...(rules.approverRoles.includes(r) ? [{ role: r, tools: ['*'], tenants: ['*'] }] : []),
  ]);
}

/** The actor's roles that make them an approver for this tool and tenant (none: not an approver). */
export function approverRolesFor(
  rules: ApprovalRules,
  actor: Actor,
  record: Pick<ApprovalRecord, 'tool' | 'tenant'>,
): string[] {
  if (!actsFor(actor, record.tenant)) return [];
  const roles = grants(rules, actor)
    .filter(
      (g) =>
        g.tools.some((t) => globMatch(t, record.tool)) &&
        g.tenants.some((t) => globMatch(t, record.tenant)),
    )
    .map((g) => g.role);
  return [...new Set(roles)];
}

/** Whether the actor holds an approver role for this tool and tenant (self-approval aside). */
export function isApproverFor(
  rules: ApprovalRules,
  actor: Actor,
  record: Pick<ApprovalRecord, 'tool' | 'tenant'>,
): boolean {
  return approverRolesFor(rules, actor, record).length > 0;
}

/** Whether the actor may approve anything at all (the console shows the buttons only then). */
export function isAnyApprover(rules: ApprovalRules, actor: Actor): boolean {
  return grants(rules, actor).length > 0;
}

/** Whether the actor may read approval-side state (governors, policy explanations): an approver or a viewer. */
export function isApproverOrViewer(rules: ApprovalRules, actor: Actor): boolean {
  return isAnyApprover(rules, actor) || actor.roles.some((r) => rules.viewerRoles.includes(r));
}

/** Whether the actor may decide this request now; `self` says a self-approval the policy allows. */
export function mayDecide(
  rules: ApprovalRules,
  actor: Actor,
  record: Pick<ApprovalRecord, 'tool' | 'tenant' | 'sub'>,
): { ok: true; self: boolean } | { ok: false; why: string } {
  if (!isApproverFor(rules, actor, record))
    return {
      ok: false,
      why: `You hold no approver role for ${record.tool} in tenant ${record.tenant}. Ask an administrator for one (policy \`approvers\`).`,
    };
  const self = record.sub === actor.subject;
  if (self && !rules.policy.allowSelfApproval)
    return {
      ok: false,
      why: 'You cannot decide your own approval request; another approver must (the policy does not set allowSelfApproval).',
    };
  return { ok: true, self };
}

/** Refuses unless the actor may decide; returns whether it is a (policy-allowed) self-approval. */
export function assertMayDecide(
  rules: ApprovalRules,
  actor: Actor,
  record: Pick<ApprovalRecord, 'tool' | 'tenant' | 'sub'>,
): boolean {
  const r = mayDecide(rules, actor, record);
  if (!r.ok) throw new ToolcageError('policy_denied', { message: r.why });
  return r.self;
}

/** Who may see a request: its requester, an approver for it, or a viewer of its tenant. */
export function mayView(rules: ApprovalRules, actor: Actor, record: ApprovalRecord): boolean {
  if (record.sub === actor.subject && actsFor(actor, record.tenant)) return true;
  if (isApproverFor(rules, actor, record)) return true;
  return actsFor(actor, record.tenant) && actor.roles.some((r) => rules.viewerRoles.includes(r));
}
