import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Broker } from '../broker/broker.ts';
import { isApproverOrViewer } from '../broker/approval-rules.ts';
import { ToolcageError } from '../errors/toolcage-error.ts';
import type { GovernorReporter } from '../governors/report.ts';
import { tenantFor, type Principal } from '../identity/principal.ts';

const query = z.strictObject({ tenant: z.string().min(1).max(128).optional() });

export interface GovernorRoutesOptions {
  broker: Broker;
  governors: GovernorReporter;
  authenticate: (request: FastifyRequest) => Promise<Principal>;
}

/**
 * `GET /v1/governors[?tenant=]`: rate, spend, loop-guard and breaker state per
 * tenant, read-only, for approvers and viewers (`broker.console.viewerRoles`),
 * of the tenants their credential is for. Shape: governors/report.ts.
 */
export function registerGovernorRoutes(app: FastifyInstance, o: GovernorRoutesOptions): void {
  app.get('/v1/governors', async (request) => {
    const principal = await o.authenticate(request);
    const rules = o.broker.approvals.rules;
    if (!isApproverOrViewer(rules, principal))
      throw new ToolcageError('policy_denied', {
        message: `Reading governor state needs an approver role (${rules.approverRoles.join(', ')}) or a viewer role (broker.console.viewerRoles: ${rules.viewerRoles.join(', ') || 'none'}).`,
      });
    const q = query.safeParse(request.query ?? {});
    if (!q.success)
      throw new ToolcageError('request_invalid', {
        message:
          'Invalid query: the only parameter is tenant, one tenant id of 1 to 128 characters.',
      });
    const asked = q.data.tenant;
    const tenants =
      asked !== undefined
        ? [tenantFor(principal, asked)]
        : principal.tenants.includes('*')
          ? undefined
          : principal.tenants;
    return o.governors.report({ tenants });
  });
}
