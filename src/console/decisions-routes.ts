import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ToolcageError } from '../errors/toolcage-error.ts';
import { AUDIT_QUERY_FIELDS, type AuditQuery, type AuditSearchClient } from './audit-client.ts';
import { decisionDetailPage, decisionsPage } from './decisions-page.ts';
import { page, type ConsoleGuard } from './guard.ts';

/** The Decisions pages: the audit trail searched, and one request's chain (operators of its tenants only). */
export function registerDecisionsRoutes(
  scope: FastifyInstance,
  o: { guard: ConsoleGuard; audit: AuditSearchClient },
): void {
  const { guard, audit } = o;
  const auditSession = async (request: FastifyRequest) => {
    const s = await guard.sessionFor(request);
    if (s && !guard.isOperator(s.principal))
      throw new ToolcageError('policy_denied', {
        message: 'Only approvers and viewers may search the audit trail.',
      });
    return s;
  };
  scope.get('/decisions', async (request, reply) => {
    const s = await auditSession(request);
    if (!s) return reply.redirect('/console/login', 303);
    const raw = request.query as Record<string, unknown>;
    const q: AuditQuery = {};
    for (const f of AUDIT_QUERY_FIELDS) {
      const v = raw[f];
      if (typeof v === 'string' && v !== '') q[f] = v.slice(0, 200);
    }
    const allowed = guard.tenantsOf(s.principal);
    if (allowed && q.tenant && !allowed.has(q.tenant))
      throw new ToolcageError('policy_denied', {
        message: `Your credential is not for tenant ${q.tenant}.`,
      });
    if (allowed && !q.tenant && allowed.size === 1) q.tenant = [...allowed][0]!;
    const found = await audit.search(q);
    const records = found.records.filter(
      (r) => !allowed || (r.tenant !== undefined && allowed.has(r.tenant)),
    );
    return page(reply, decisionsPage(guard.ctxOf(s), q, { ...found, records }));
  });
  scope.get('/decisions/:requestId', async (request, reply) => {
    const s = await auditSession(request);
    if (!s) return reply.redirect('/console/login', 303);
    const requestId = (request.params as { requestId: string }).requestId.slice(0, 200);
    const allowed = guard.tenantsOf(s.principal);
    const records = (await audit.search({ requestId })).records.filter(
      (r) => !allowed || (r.tenant !== undefined && allowed.has(r.tenant)),
    );
    return page(reply, decisionDetailPage(guard.ctxOf(s), requestId, records));
  });
}
