import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Broker } from '../broker/broker.ts';
import { isApproverOrViewer } from '../broker/approval-rules.ts';
import type { Policy } from '../broker/policy.ts';
import { ToolcageError } from '../errors/toolcage-error.ts';
import { tenantFor, type Principal } from '../identity/principal.ts';
import { parseBody } from './parse-body.ts';
import { explainBody } from './schemas.ts';

export interface PolicyRoutesOptions {
  broker: Broker;
  policy: Policy;
  authenticate: (request: FastifyRequest) => Promise<Principal>;
}

/** Roles of a subject named in the body: given, the caller's own, else the policy's `principals`. */
function rolesOf(
  policy: Policy,
  caller: Principal,
  sub: string,
  given: readonly string[] | undefined,
): string[] {
  if (given) return [...given];
  if (sub === caller.subject) return [...caller.roles];
  return Object.hasOwn(policy.principals, sub) ? [...policy.principals[sub]!] : [];
}

/**
 * `POST /v1/policy/explain`: the decision `toolcage policy explain` prints,
 * for one call or for approving it, without minting, opening or deciding
 * anything, and without an audit line (nothing was decided). 200 whether the
 * answer is allow or deny: the decision is in `allowed`, the refusal in `error`.
 *
 * Who may ask: approvers and viewers (`broker.console.viewerRoles`), for the
 * tenants their credential is for, as for governor state. An explanation
 * answers "would these arguments pass, and which policy decides" for any
 * subject and arguments, unrecorded; an agent must not get to probe the
 * policy that way (its refusals already name the deciding policies).
 */
export function registerPolicyRoutes(app: FastifyInstance, o: PolicyRoutesOptions): void {
  app.post('/v1/policy/explain', async (request) => {
    const principal = await o.authenticate(request);
    const rules = o.broker.approvals.rules;
    if (!isApproverOrViewer(rules, principal))
      throw new ToolcageError('policy_denied', {
        message: `Explaining policy decisions needs an approver role (${rules.approverRoles.join(', ') || 'none'}) or a viewer role (broker.console.viewerRoles: ${rules.viewerRoles.join(', ') || 'none'}).`,
      });
    const body = parseBody(explainBody, request.body, ['tool', 'args']);
    const tenant = tenantFor(principal, body.tenant);
    const sub = body.sub ?? principal.subject;
    const roles = rolesOf(o.policy, principal, sub, body.roles);
    if (body.action === 'approve') {
      const approver = body.approver ?? principal.subject;
      return {
        sub,
        ...o.broker.explainApproval({
          tool: body.tool,
          args: body.args,
          sub,
          tenant,
          session: body.session,
          approver,
          approverRoles: rolesOf(o.policy, principal, approver, body.approverRoles),
        }),
      };
    }
    return {
      sub,
      roles,
      ...o.broker.explain({
        tool: body.tool,
        args: body.args,
        sub,
        roles,
        tenant,
        ...(body.session ? { session: body.session } : {}),
      }),
    };
  });
}
