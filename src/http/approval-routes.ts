import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Broker } from '../broker/broker.ts';
import type { ApprovalFilter, ApprovalStatus } from '../broker/approval-store.ts';
import { decide, type Policy } from '../broker/policy.ts';
import { ToolcageError } from '../errors/toolcage-error.ts';
import { tenantFor, type Principal } from '../identity/principal.ts';
import type { Registry } from '../registry/registry.ts';
import { sessionOf } from './session-header.ts';

const STATUSES = ['pending', 'approved', 'denied', 'expired', 'used'] as const;

const requestBody = z.strictObject({
  tool: z.string().min(1).max(200),
  args: z.unknown(),
  tenant: z.string().min(1).max(128).optional(),
});
const decisionBody = z
  .strictObject({
    reason: z.string().max(1000).optional(),
    /** Let the approval be used in any session, not only the request's own. */
    anySession: z.boolean().optional(),
  })
  .default({});
const listQuery = z.strictObject({
  status: z.enum(STATUSES).optional(),
  tool: z.string().min(1).max(200).optional(),
  tenant: z.string().min(1).max(128).optional(),
  subject: z.string().min(1).max(256).optional(),
  limit: z.coerce.number().int().positive().max(1000).optional(),
});

function parsed<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success)
    throw new ToolcageError('request_invalid', {
      message: `Invalid ${what}: ${r.error.issues
        .slice(0, 5)
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; ')}.`,
    });
  return r.data;
}

export interface ApprovalRoutesOptions {
  broker: Broker;
  policy: Policy;
  registry: () => Registry;
  authenticate: (request: FastifyRequest) => Promise<Principal>;
}

/**
 * The approval API: `POST /v1/approvals` (ask), `GET /v1/approvals` (list,
 * filtered), `GET /v1/approvals/{id}` (with arguments, sensitive ones
 * masked), `POST /v1/approvals/{id}/approve|deny`. Every rule lives in the
 * broker's ApprovalService; this only translates HTTP.
 */
export function registerApprovalRoutes(app: FastifyInstance, o: ApprovalRoutesOptions): void {
  const svc = o.broker.approvals;

  app.post('/v1/approvals', async (request, reply) => {
    const principal = await o.authenticate(request);
    const body = parsed(requestBody, request.body, 'body');
    const tool = o.registry().get(body.tool);
    if (!tool)
      throw new ToolcageError('tool_not_allowed', {
        message: `Tool "${body.tool}" is not in the registry allowlist.`,
      });
    // Only a principal who could get a claim for the tool may ask a human to approve a call of it.
    decide(o.policy, tool.manifest, principal.roles, {});
    const { record, created } = await svc.open({
      tool: body.tool,
      args: body.args,
      sub: principal.subject,
      tenant: tenantFor(principal, body.tenant),
      via: principal.via,
      ...sessionOf(request),
      requestId: request.id,
    });
    return reply.code(created ? 201 : 200).send(svc.view(record));
  });

  app.get('/v1/approvals', async (request) => {
    const principal = await o.authenticate(request);
    const q = parsed(listQuery, request.query, 'query');
    const filter: ApprovalFilter = {
      ...(q.status ? { status: q.status as ApprovalStatus } : {}),
      ...(q.tool ? { tool: q.tool } : {}),
      ...(q.tenant ? { tenant: q.tenant } : {}),
      ...(q.subject ? { subject: q.subject } : {}),
      ...(q.limit ? { limit: q.limit } : {}),
    };
    const records = await svc.list(principal, filter);
    return {
      approvals: records.map((r) => ({
        ...svc.view(r),
        mayDecide: r.status === 'pending' && svc.mayDecideAny(principal, r),
      })),
    };
  });

  app.get<{ Params: { id: string } }>('/v1/approvals/:id', async (request) => {
    const principal = await o.authenticate(request);
    return svc.view(await svc.show(principal, request.params.id));
  });

  for (const [action, decision] of [
    ['approve', 'approved'],
    ['deny', 'denied'],
  ] as const) {
    app.post<{ Params: { id: string } }>(`/v1/approvals/:id/${action}`, async (request) => {
      const principal = await o.authenticate(request);
      const body = parsed(decisionBody, request.body ?? {}, 'body');
      const { record, selfApproved } = await svc.decide({
        actor: principal,
        id: request.params.id,
        decision,
        reason: body.reason,
        anySession: body.anySession,
        requestId: request.id,
      });
      request.log.info(
        {
          event: `approval_${decision}`,
          approvalId: record.id,
          by: principal.subject,
          selfApproved,
        },
        `approval ${decision}`,
      );
      return { ...svc.view(record), ...(selfApproved ? { selfApproved } : {}) };
    });
  }
}
