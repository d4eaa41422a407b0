import { z } from 'zod';
import { ERROR_CATALOGUE } from '../errors/catalogue.ts';
import { approvalBody, claimBody, explainBody, invokeBody } from './schemas.ts';

/** Where both services serve their OpenAPI document. */
export const OPENAPI_PATH = '/openapi.json';

type Json = Record<string, unknown>;

const body = (s: z.ZodType): Json => ({
  required: true,
  content: {
    'application/json': {
      schema: z.toJSONSchema(s, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }),
    },
  },
});

const ok = (description: string, schema: Json = { type: 'object' }): Json => ({
  description,
  content: { 'application/json': { schema } },
});

const errors = { default: { $ref: '#/components/responses/Error' } };
const bearer = [{ claim: [] }];
const caller = [{ identityToken: [] }, { apiKey: [] }];

interface Route {
  method: 'get' | 'post';
  path: string;
  service: 'runner' | 'broker' | 'both';
  summary: string;
  op: Json;
}

const idParam = (what: string): Json => ({
  name: 'id',
  in: 'path',
  required: true,
  description: what,
  schema: { type: 'string' },
});

/**
 * Every route of `toolcage serve` (runner) and `toolcage broker serve`
 * (broker). test/docs/openapi.test.ts checks this list against the routes
 * each fastify app really registers, and docs/openapi.json against this.
 */
export const ROUTES: readonly Route[] = [
  {
    method: 'get',
    path: '/v1/tools',
    service: 'runner',
    summary: 'The allowlisted tools: id, version, description, schemas, runtime, risk, scopes',
    op: { responses: { '200': ok('The tools'), ...errors } },
  },
  {
    method: 'post',
    path: '/v1/tools/{id}/invoke',
    service: 'runner',
    summary: 'Verify the claim, run the tool in its sandbox, validate the output',
    op: {
      parameters: [idParam('The tool id (must equal the claim `tool`)')],
      security: bearer,
      requestBody: body(invokeBody),
      responses: {
        '200': ok('The result', {
          type: 'object',
          properties: { result: {}, invocationId: { type: 'string' } },
          required: ['result', 'invocationId'],
        }),
        ...errors,
      },
    },
  },
  {
    method: 'get',
    path: '/.well-known/runner-jwks.json',
    service: 'runner',
    summary: "The runner's own minting key (JWKS), for downstreams verifying minted credentials",
    op: { responses: { '200': ok('JWKS'), ...errors } },
  },
  {
    method: 'get',
    path: '/metrics',
    service: 'runner',
    summary: 'Prometheus metrics (text exposition format)',
    op: {
      responses: {
        '200': {
          description: 'Metrics',
          content: { 'text/plain': { schema: { type: 'string' } } },
        },
      },
    },
  },
  {
    method: 'post',
    path: '/v1/claims',
    service: 'broker',
    summary: 'Mint a short-lived claim for one tool and these arguments, by policy',
    op: {
      security: caller,
      requestBody: body(claimBody),
      responses: {
        '201': ok('The claim', {
          type: 'object',
          properties: {
            claim: { type: 'string' },
            expiresAt: { type: 'string', format: 'date-time' },
            jti: { type: 'string' },
          },
          required: ['claim', 'expiresAt', 'jti'],
        }),
        ...errors,
      },
    },
  },
  {
    method: 'post',
    path: '/v1/approvals',
    service: 'broker',
    summary: 'Ask a human to approve one call (tool, tenant, arguments)',
    op: {
      security: caller,
      requestBody: body(approvalBody),
      responses: { '201': ok('The pending approval request'), ...errors },
    },
  },
  {
    method: 'get',
    path: '/v1/approvals',
    service: 'broker',
    summary:
      'Approval requests (filters: status, tool, tenant, subject, limit), pending first; arguments masked where the schema marks them writeOnly',
    op: {
      security: caller,
      parameters: ['status', 'tool', 'tenant', 'subject', 'limit'].map((name) => ({
        name,
        in: 'query',
        required: false,
        schema: { type: 'string' },
      })),
      responses: { '200': ok('{approvals: [...]}, each with mayDecide'), ...errors },
    },
  },
  {
    method: 'get',
    path: '/v1/governors',
    service: 'broker',
    summary:
      'Rate, spend, loop-guard and session-breaker state per tenant, read-only (approver and viewer roles; their tenants only)',
    op: {
      security: caller,
      parameters: [{ name: 'tenant', in: 'query', required: false, schema: { type: 'string' } }],
      responses: {
        '200': ok(
          '{at, governors: {store, reportable, shared}, pauses: {store, reportable}, tenants: [{tenant, rate, spend, sessions, loops, paused}], truncated}',
        ),
        ...errors,
      },
    },
  },
  {
    method: 'post',
    path: '/v1/policy/explain',
    service: 'broker',
    summary:
      'The decision for one call, or for approving it (action: approve), and why, without minting or deciding anything (approver and viewer roles; their tenants only)',
    op: {
      security: caller,
      requestBody: body(explainBody),
      responses: {
        '200': ok(
          'What `toolcage policy explain` prints: {sub, roles?, allowed, tool, action?, error?, pol, scope?, renderedScope?, cedar?, ...}',
        ),
        ...errors,
      },
    },
  },
  {
    method: 'post',
    path: '/v1/sessions/{id}/resume',
    service: 'broker',
    summary: 'Resume a session its circuit breaker paused (approver roles only)',
    op: {
      security: caller,
      parameters: [
        idParam('The session id'),
        { name: 'tenant', in: 'query', required: false, schema: { type: 'string' } },
      ],
      responses: { '200': ok('{session, tenant, resumed: true}'), ...errors },
    },
  },
  {
    method: 'get',
    path: '/v1/approvals/{id}',
    service: 'broker',
    summary: 'An approval request, for its maker and approvers',
    op: {
      security: caller,
      parameters: [idParam('The approval id')],
      responses: { '200': ok('The approval request'), ...errors },
    },
  },
  ...(['approve', 'deny'] as const).map((action): Route => ({
    method: 'post',
    path: `/v1/approvals/{id}/${action}`,
    service: 'broker',
    summary: `${action === 'approve' ? 'Approve' : 'Deny'} a pending request (approver roles only, never one's own)`,
    op: {
      security: caller,
      parameters: [idParam('The approval id')],
      responses: { '200': ok('The decided approval request'), ...errors },
    },
  })),
  {
    method: 'get',
    path: '/.well-known/jwks.json',
    service: 'broker',
    summary: "The broker's public signing keys (JWKS), for runners verifying claims",
    op: { responses: { '200': ok('JWKS'), ...errors } },
  },
  {
    method: 'get',
    path: '/healthz',
    service: 'both',
    summary: 'Liveness',
    op: { responses: { '200': ok('Alive') } },
  },
  {
    method: 'get',
    path: '/readyz',
    service: 'both',
    summary:
      'Readiness: backends, stores and withheld tools; 503 while draining or unable to serve',
    op: { responses: { '200': ok('Ready'), ...errors } },
  },
  {
    method: 'get',
    path: OPENAPI_PATH,
    service: 'both',
    summary: 'This document',
    op: { responses: { '200': ok('OpenAPI 3.1') } },
  },
];

/** The OpenAPI 3.1 document of both services (one document; each route names its service by tag). */
export function openApiDocument(version: string): Json {
  const paths: Record<string, Json> = {};
  for (const r of ROUTES) {
    const tags = r.service === 'both' ? ['runner', 'broker'] : [r.service];
    paths[r.path] = { ...paths[r.path], [r.method]: { tags, summary: r.summary, ...r.op } };
  }
  const codes = Object.keys(ERROR_CATALOGUE);
  return {
    openapi: '3.1.0',
    info: {
      title: 'toolcage',
      version,
      description:
        'The runner (`toolcage serve`, tag runner) and the broker (`toolcage broker serve`, tag broker). Every failure is the error body with the status of its code; see docs/errors.md.',
    },
    tags: [
      { name: 'runner', description: 'toolcage serve (default 127.0.0.1:8080)' },
      { name: 'broker', description: 'toolcage broker serve (default 127.0.0.1:8081)' },
    ],
    paths,
    components: {
      securitySchemes: {
        claim: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'A claim minted by the broker (see docs/claims.md); `DPoP` scheme with a proof when bound.',
        },
        identityToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
      },
      responses: {
        Error: {
          description: 'A refusal or failure',
          headers: { 'x-request-id': { schema: { type: 'string' } } },
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: {
                  error: {
                    type: 'object',
                    properties: {
                      code: { enum: codes },
                      message: { type: 'string' },
                      requestId: { type: 'string' },
                      details: { type: 'object' },
                      retryAfterSeconds: { type: 'integer' },
                    },
                    required: ['code', 'message', 'requestId'],
                  },
                },
                required: ['error'],
              },
            },
          },
        },
      },
    },
  };
}
