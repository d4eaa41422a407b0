import type { FastifyInstance } from 'fastify';
import type { Broker } from '../broker/broker.ts';
import { ToolcageError } from '../errors/toolcage-error.ts';
import type { GovernorReporter } from '../governors/report.ts';
import { tenantFor, type Principal } from '../identity/principal.ts';
import { formField, page, type ConsoleGuard } from './guard.ts';
import { governorsPage } from './governors-page.ts';

/** The tenants an operator's report covers: the one asked for (if theirs), else all of theirs. */
export function reportTenants(
  p: Principal,
  asked: string | undefined,
): readonly string[] | undefined {
  if (asked !== undefined && asked !== '') return [tenantFor(p, asked.slice(0, 128))];
  return p.tenants.includes('*') ? undefined : p.tenants;
}

/**
 * The Governors page (operators: approvers and viewers, their tenants only)
 * and its one action: resume a session the breaker paused (approvers only,
 * CSRF-checked), through the broker like `POST /v1/sessions/{id}/resume`.
 */
export function registerGovernorsRoutes(
  scope: FastifyInstance,
  o: { guard: ConsoleGuard; broker: Broker; governors: GovernorReporter },
): void {
  const { guard } = o;
  const refuse = () =>
    new ToolcageError('policy_denied', {
      message: 'Only approvers and viewers may see governor state.',
    });

  scope.get('/governors', async (request, reply) => {
    const s = await guard.sessionFor(request);
    if (!s) return reply.redirect('/console/login', 303);
    if (!guard.isOperator(s.principal)) throw refuse();
    const asked = (request.query as Record<string, unknown>).tenant;
    const report = await o.governors.report({
      tenants: reportTenants(s.principal, typeof asked === 'string' ? asked : undefined),
    });
    const q = request.query as Record<string, unknown>;
    const notice =
      typeof q.resumed === 'string' ? `Session ${q.resumed.slice(0, 128)} resumed.` : undefined;
    return page(
      reply,
      governorsPage(guard.ctxOf(s), report, {
        mayResume: guard.isApprover(s.principal),
        notice,
      }),
    );
  });

  scope.post('/governors/sessions/:id/resume', async (request, reply) => {
    const s = await guard.requirePost(request);
    if (!guard.isApprover(s.principal))
      throw new ToolcageError('policy_denied', {
        message: 'Only an approver may resume a paused session.',
      });
    const session = (request.params as { id: string }).id;
    const tenant = tenantFor(s.principal, formField(request.body, 'tenant'));
    await o.broker.resumeSession(tenant, session, {
      actor: s.principal.subject,
      origin: 'console',
      requestId: request.id,
    });
    request.log.info(
      { event: 'session_resumed', session, tenant, by: s.principal.subject, via: 'console' },
      'session resumed',
    );
    return reply.redirect(`/console/governors?resumed=${encodeURIComponent(session)}`, 303);
  });
}
