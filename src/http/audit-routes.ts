import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AuditRecord } from '../audit/chain.ts';
import { queryAudit } from '../audit/query.ts';
import { ToolcageError } from '../errors/toolcage-error.ts';
import { actsForAnyTenant, mayActFor, type Principal } from '../identity/principal.ts';

export interface AuditRoutesOptions {
  authenticate(request: FastifyRequest): Promise<Principal>;
  /** The trail's files, oldest first (read at each request: rotation adds files). */
  files(): string[];
  /** Roles that may read the trail. */
  readerRoles: readonly string[];
}

const idFilter = z.string().min(1).max(200).optional();
const time = z
  .string()
  .max(40)
  .refine((s) => !Number.isNaN(Date.parse(s)), 'an ISO 8601 time')
  .transform((s) => new Date(s))
  .optional();
const querySchema = z.strictObject({
  kind: idFilter,
  tool: idFilter,
  subject: idFilter,
  tenant: idFilter,
  outcome: idFilter,
  errorCode: idFilter,
  requestId: idFilter,
  invocationId: idFilter,
  jti: idFilter,
  approvalId: idFilter,
  traceId: idFilter,
  since: time,
  until: time,
  cursor: z.string().min(1).max(1000).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/**
 * `GET /v1/audit`: the trail, filtered, a page at a time, for principals with
 * an audit reader role. A reader sees the records of the tenants it may act
 * for; records without a tenant (service events, unauthenticated refusals)
 * only readers for every tenant see. Response shape: docs/audit.md.
 */
export function registerAuditRoutes(app: FastifyInstance, o: AuditRoutesOptions): void {
  app.get('/v1/audit', async (request) => {
    const principal = await o.authenticate(request);
    if (!principal.roles.some((r) => o.readerRoles.includes(r)))
      throw new ToolcageError('policy_denied', {
        message: `Reading the audit trail needs the ${o.readerRoles.join(' or ')} role (config audit.readerRoles).`,
      });
    const parsed = querySchema.safeParse(request.query);
    if (!parsed.success)
      throw new ToolcageError('request_invalid', {
        message: `Invalid query: ${parsed.error.issues
          .slice(0, 5)
          .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
          .join('; ')}.`,
      });
    const visible = (r: AuditRecord) =>
      typeof r.tenant === 'string' ? mayActFor(principal, r.tenant) : actsForAnyTenant(principal);
    return queryAudit(o.files(), { ...parsed.data, visible });
  });
}
