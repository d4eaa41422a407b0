import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Broker } from '../broker/broker.ts';
import type { Policy } from '../broker/policy.ts';
import type { DpopProofVerifier } from '../claims/dpop.ts';
import { ToolcageError } from '../errors/toolcage-error.ts';
import type { Registry } from '../registry/registry.ts';
import type { IdentityVerifier } from '../identity/verifier.ts';
import { tenantFor, type Principal } from '../identity/principal.ts';
import { isAnyApprover } from '../broker/approval-rules.ts';
import { delegatedSubject } from '../broker/delegation.ts';
import { registerApprovalRoutes } from './approval-routes.ts';
import { sessionOf } from './session-header.ts';
import { createBaseApp, requestHtu } from './base-app.ts';
import { parseBody as parse } from './parse-body.ts';
import { registerPolicyRoutes } from './policy-routes.ts';
import { InFlight } from './in-flight.ts';
import { claimBody } from './schemas.ts';
import type { RunnerAppControl } from './runner-app.ts';
import type { BrokerMetrics } from '../metrics/broker-metrics.ts';
import { NullAuditSink, recordDecision, type AuditEntry, type AuditSink } from '../audit/audit.ts';
import { activeTraceId, isAudited } from '../audit/context.ts';
import { registerAuditRoutes } from './audit-routes.ts';
import { registerGovernorRoutes } from './governor-routes.ts';
import type { GovernorReporter } from '../governors/report.ts';

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
  /** The sink edge refusals (unauthenticated, bad proof, bad body) are recorded to; the Broker records its own. */
  audit?: AuditSink;
  /** Serves `GET /v1/audit` over these files to principals with one of `readerRoles`. */
  auditTrail?: { files(): string[]; readerRoles: readonly string[] };
  logger?: Logger;
  logLevel?: string;
  bodyLimitBytes?: number;
  requestTimeoutMs?: number;
  headersTimeoutMs?: number;
  publicUrl?: string;
  /** Serves `GET /metrics` and counts claim answers when given. */
  metrics?: BrokerMetrics;
  /** Serves `GET /v1/governors` (governor state per tenant) when given. */
  governors?: GovernorReporter;
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
  const audit: AuditSink = o.audit ?? new NullAuditSink();
  const contextOf = (request: FastifyRequest, principal?: Principal) => ({
    requestId: request.id,
    ...(activeTraceId() ? { traceId: activeTraceId() } : {}),
    ...(principal ? { via: principal.via } : {}),
  });
  /** Records a refusal the Broker did not record itself, then rethrows it. */
  const refused = async (err: unknown, entry: (code: string) => AuditEntry): Promise<never> => {
    if (!isAudited(err)) {
      const code = (err as ToolcageError).code ?? 'internal';
      await recordDecision(audit, entry(code)).catch(() => {});
    }
    throw err;
  };
  if (o.auditTrail)
    registerAuditRoutes(app, {
      authenticate,
      files: o.auditTrail.files,
      readerRoles: o.auditTrail.readerRoles,
    });

  app.get('/.well-known/jwks.json', async (_request, reply) =>
    reply.header('cache-control', 'public, max-age=60').send(o.broker.jwks()),
  );

  app.post('/v1/claims', async (request, reply) => {
    let principal: Principal | undefined;
    try {
      principal = await authenticate(request);
      return await issue(request, reply, principal);
    } catch (err) {
      const body = request.body as { tool?: unknown } | undefined;
      return refused(err, (errorCode) => ({
        kind: 'claim_refused',
        origin: 'http',
        ...contextOf(request, principal),
        ...(principal
          ? { subject: principal.subject, roles: principal.roles, tenant: principal.defaultTenant }
          : {}),
        ...(typeof body?.tool === 'string' ? { toolId: body.tool.slice(0, 200) } : {}),
        errorCode,
      }));
    }
  });

  const issue = async (request: FastifyRequest, reply: FastifyReply, principal: Principal) => {
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
    // A delegate (toolcage mcp with a remote broker) asks for its caller; the policy decides whether it may.
    const subject = body.onBehalfOf
      ? delegatedSubject(o.policy, principal, body.onBehalfOf)
      : { sub: principal.subject, roles: principal.roles };
    const via = body.onBehalfOf
      ? `${principal.via} delegate:${principal.subject.slice(0, 256)}`
      : principal.via;
    const issued = await o.broker.issueClaim({
      tool: body.tool,
      args: body.args,
      sub: subject.sub,
      roles: subject.roles,
      tenant: tenantFor(principal, body.tenant),
      ...(body.scope ? { scope: body.scope } : {}),
      ...(body.ttlSeconds !== undefined ? { ttlSeconds: body.ttlSeconds } : {}),
      ...(body.approvalId ? { approvalId: body.approvalId } : {}),
      ...(dpopJkt ? { dpopJkt } : {}),
      ...sessionOf(request),
      via,
      requestId: request.id,
      context: { ...contextOf(request, principal), via },
    });
    // The decision itself is on the audit trail; this is the operator's log (requestId is bound by fastify).
    request.log.info({ event: 'claim_issued', jti: issued.jti }, 'claim issued');
    return reply.code(201).send(issued);
  };

  registerApprovalRoutes(app, {
    broker: o.broker,
    policy: o.policy,
    registry: o.registry,
    authenticate,
  });
  if (o.governors)
    registerGovernorRoutes(app, { broker: o.broker, governors: o.governors, authenticate });
  registerPolicyRoutes(app, { broker: o.broker, policy: o.policy, authenticate });
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
      await o.broker.resumeSession(tenant, request.params.id, {
        actor: principal.subject,
        origin: 'http',
        requestId: request.id,
      });
      request.log.info(
        {
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
    const trail = await audit.health?.().catch((e: Error) => ({ ready: false, detail: e.message }));
    if (!control.draining && trail?.ready !== false)
      return { ready: true, draining: false, ...(trail ? { audit: trail } : {}) };
    const error = control.draining
      ? new ToolcageError('sandbox_unavailable', {
          message: 'The broker is draining for shutdown.',
        })
      : new ToolcageError('audit_unavailable', {
          message: `The audit trail cannot take records (${trail!.detail}); the broker refuses every decision until it can.`,
        });
    return reply
      .code(503)
      .header('retry-after', '1')
      .send({
        ready: false,
        draining: control.draining,
        ...(trail ? { audit: trail } : {}),
        ...error.toBody(request.id),
      });
  });
  return app;
}
