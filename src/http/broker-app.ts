import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Broker } from '../broker/broker.ts';
import type { Policy } from '../broker/policy.ts';
import type { DpopProofVerifier } from '../claims/dpop.ts';
import { ToolcageError } from '../errors/toolcage-error.ts';
import type { Registry } from '../registry/registry.ts';
import type { IdentityVerifier } from '../identity/verifier.ts';
import { tenantFor } from '../identity/principal.ts';
import { isAnyApprover } from '../broker/approval-rules.ts';
import { registerApprovalRoutes } from './approval-routes.ts';
import { sessionOf } from './session-header.ts';
import { createBaseApp, objectBody, requestHtu } from './base-app.ts';
import { InFlight } from './in-flight.ts';
import type { RunnerAppControl } from './runner-app.ts';
import type { BrokerMetrics } from '../metrics/broker-metrics.ts';

export interface BrokerAppOptions {
  broker: Broker;
  auth: IdentityVerifier;
  /** Verifies a caller's DPoP proof; a claim is then bound to its key (`cnf.jkt`). Without it a DPoP header is refused. */
  dpop?: DpopProofVerifier;
  /** The policy and registry, to refuse approval requests for tools the caller's roles cannot get. */
  policy: Policy;
  registry: () => Registry;
  /** Adds routes that need the broker's identity verifier (the operator console). */
  extend?: (app: FastifyInstance, auth: IdentityVerifier) => void;
  logger?: Logger;
  logLevel?: string;
  bodyLimitBytes?: number;
  requestTimeoutMs?: number;
  headersTimeoutMs?: number;
  publicUrl?: string;
  /** Serves `GET /metrics` and counts claim answers when given. */
  metrics?: BrokerMetrics;
}

const id = z.string().min(1).max(200);
const claimBody = z.strictObject({
  tool: id,
  args: z.unknown(),
  tenant: z.string().min(1).max(128).optional(),
  scope: z.array(z.string().min(1).max(200)).min(1).max(100).optional(),
  approvalId: z.string().min(1).max(128).optional(),
  // No upper bound here: every over-long TTL, however large (1e400 parses as Infinity), gets the
  // policy's one answer (policy_denied 403), not a 400 or a 403 depending on its size.
  ttlSeconds: z
    .custom<number>((v) => typeof v === 'number' && v > 0, 'expected a positive number of seconds')
    .optional(),
});
function parse<T>(schema: z.ZodType<T>, body: unknown, required: string[]): T {
  objectBody(
    body,
    Object.keys((schema as unknown as { shape: Record<string, unknown> }).shape),
    required,
  );
  const r = schema.safeParse(body);
  if (!r.success)
    throw new ToolcageError('request_invalid', {
      message: `Invalid body: ${r.error.issues
        .slice(0, 5)
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; ')}.`,
    });
  return r.data;
}

/**
 * The broker's HTTP service: `POST /v1/claims`, approvals, and the JWKS.
 * Authentication happens here (it is the broker's edge); every decision about
 * what a principal may get is the Broker's policy.
 */
export function buildBrokerApp(o: BrokerAppOptions): FastifyInstance {
  const app = createBaseApp({
    ...(o.logger ? { logger: o.logger } : {}),
    ...(o.logLevel ? { logLevel: o.logLevel } : {}),
    bodyLimitBytes: o.bodyLimitBytes ?? 256 * 1024,
    requestTimeoutMs: o.requestTimeoutMs ?? 30_000,
    headersTimeoutMs: o.headersTimeoutMs ?? 10_000,
  });
  const control: RunnerAppControl = { draining: false, inFlight: new InFlight() };
  app.decorate('toolcage', control);
  const authenticate = (request: FastifyRequest) =>
    o.auth.authenticate({
      authorization: request.headers.authorization,
      'x-api-key': request.headers['x-api-key'],
    });

  app.get('/.well-known/jwks.json', async (_request, reply) =>
    reply.header('cache-control', 'public, max-age=60').send(o.broker.jwks()),
  );

  app.post('/v1/claims', async (request, reply) => {
    const principal = await authenticate(request);
    const body = parse(claimBody, request.body, ['tool', 'args']);
    let dpopJkt: string | undefined;
    const proof = request.headers.dpop;
    if (proof !== undefined) {
      if (!o.dpop)
        throw new ToolcageError('dpop_invalid', {
          message: 'This broker does not accept DPoP proofs.',
        });
      ({ jkt: dpopJkt } = await o.dpop.verify({
        proof: Array.isArray(proof) ? proof.join(',') : proof,
        htm: request.method,
        htu: requestHtu(o.publicUrl, request.protocol, request.host, request.url),
      }));
    }
    const issued = await o.broker.issueClaim({
      tool: body.tool,
      args: body.args,
      sub: principal.subject,
      roles: principal.roles,
      tenant: tenantFor(principal, body.tenant),
      ...(body.scope ? { scope: body.scope } : {}),
      ...(body.ttlSeconds !== undefined ? { ttlSeconds: body.ttlSeconds } : {}),
      ...(body.approvalId ? { approvalId: body.approvalId } : {}),
      ...(dpopJkt ? { dpopJkt } : {}),
      ...sessionOf(request),
      via: principal.via,
      requestId: request.id,
    });
    request.log.info(
      {
        requestId: request.id,
        event: 'claim_issued',
        sub: principal.subject,
        via: principal.via,
        tool: body.tool,
        jti: issued.jti,
        bound: dpopJkt !== undefined,
        expiresAt: issued.expiresAt,
      },
      'claim issued',
    );
    return reply.code(201).send(issued);
  });

  registerApprovalRoutes(app, {
    broker: o.broker,
    policy: o.policy,
    registry: o.registry,
    authenticate,
  });
  o.extend?.(app, o.auth);

  // A paused session resumes only by a human approver's word (the breaker's off switch).
  app.post<{ Params: { id: string }; Querystring: { tenant?: string } }>(
    '/v1/sessions/:id/resume',
    async (request) => {
      const principal = await authenticate(request);
      if (!isAnyApprover(o.broker.approvals.rules, principal))
        throw new ToolcageError('policy_denied', {
          message: `Only an approver (a role in the policy's \`approvers\` or broker.approverRoles: ${o.broker.approvals.rules.approverRoles.join(', ')}) may resume a paused session.`,
        });
      const tenant = tenantFor(principal, request.query.tenant);
      await o.broker.resumeSession(tenant, request.params.id);
      request.log.info(
        {
          requestId: request.id,
          event: 'session_resumed',
          session: request.params.id,
          tenant,
          by: principal.subject,
        },
        'session resumed',
      );
      return { session: request.params.id, tenant, resumed: true };
    },
  );

  app.get('/healthz', async () => ({ status: 'ok' }));
  if (o.metrics) {
    const metrics = o.metrics;
    app.addHook('onResponse', async (request, reply) => {
      if (request.routeOptions.url === '/v1/claims' && request.method === 'POST')
        metrics.claimAnswered(reply.statusCode);
    });
    app.get('/metrics', async (_request, reply) =>
      reply.type(metrics.contentType()).send(await metrics.render()),
    );
  }
  app.get('/readyz', async (request, reply) => {
    if (!control.draining) return { ready: true, draining: false };
    return reply.code(503).send({
      ready: false,
      draining: true,
      ...new ToolcageError('sandbox_unavailable', {
        message: 'The broker is draining for shutdown.',
      }).toBody(request.id),
    });
  });
  return app;
}
