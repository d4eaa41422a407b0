import { z } from 'zod';
import { path, port, clockToleranceSeconds, tokenAlgorithms } from './fields.ts';

/** `broker`: the claim broker, its HTTP service, who may call it, approvals and the operator console. */
export const brokerConfigSchema = z.strictObject({
  issuer: z.string().min(1).default('toolcage-broker'),
  /** Private signing JWKs; the first signs, all are published in the JWKS (key rotation). */
  signingKeys: z.array(path).min(1).default(['keys/broker.private.jwk.json']),
  policy: path.default('broker-policy.yaml'),
  http: z
    .strictObject({
      host: z.string().default('127.0.0.1'),
      port: port.default(8081),
      bodyLimitBytes: z
        .number()
        .int()
        .positive()
        .default(256 * 1024),
      requestTimeoutMs: z.number().int().positive().default(30_000),
      headersTimeoutMs: z.number().int().positive().default(10_000),
      shutdownGraceMs: z.number().int().positive().default(10_000),
      /** The externally visible base URL (behind a proxy): DPoP proofs' `htu` is checked against it. Default: the request's own scheme and Host. */
      publicUrl: z.url().optional(),
      logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'silent']).default('info'),
    })
    .prefault({}),
  /**
   * Who may call `broker serve`: an OIDC-style identity provider (bearer JWTs
   * verified against its JWKS, issuer and audience) and/or per-service API
   * keys (only their sha256 is stored). Neither configured: every caller is refused.
   */
  identity: z
    .strictObject({
      jwksFile: path.optional(),
      jwksUrl: z.url().optional(),
      issuer: z.string().min(1),
      audience: z.string().min(1),
      /** The token claim holding the caller's roles (an array of strings, or a space-separated string). */
      rolesClaim: z.string().min(1).default('roles'),
      /**
       * The token claim naming the caller's tenant (a string) or tenants (an
       * array). Set: a token without it is refused. Unset: every token acts
       * for the config's `tenant` only. A request never picks a tenant its
       * credential does not list.
       */
      tenantClaim: z.string().min(1).optional(),
      algorithms: tokenAlgorithms,
      clockToleranceSeconds,
    })
    .refine((i) => (i.jwksFile === undefined) !== (i.jwksUrl === undefined), {
      message: 'set exactly one of jwksFile or jwksUrl',
    })
    .optional(),
  apiKeys: z
    .array(
      z
        .strictObject({
          id: z.string().min(1).max(64),
          /** hex sha256 of the key; the key itself is never stored. */
          sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits'),
          subject: z.string().min(1).max(256),
          roles: z.array(z.string().min(1)).default([]),
          /** The tenants this key may act for, the first its default; `["*"]` for any. Neither this nor `tenant`: the config's `tenant` only. */
          tenants: z.array(z.string().min(1).max(128)).min(1).optional(),
          /** Shorthand for `tenants: [tenant]`. */
          tenant: z.string().min(1).max(128).optional(),
        })
        .refine((k) => k.tenant === undefined || k.tenants === undefined, {
          message: 'set tenant or tenants, not both',
        }),
    )
    .default([]),
  /** Roles whose holders may approve or deny pending approval requests of any tool (never their own unless the policy sets allowSelfApproval); the policy's `approvers` can grant narrower ones. */
  approverRoles: z.array(z.string().min(1)).min(1).default(['approver']),
  /** The operator console, served by `broker serve` under /console. */
  console: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** The console's external base URL (links in approval_required refusals and webhooks). Default: broker.http.publicUrl, else the listen address. */
      publicUrl: z.url().optional(),
      /** A console session ends after this long without a request. */
      sessionIdleSeconds: z.number().int().positive().max(86_400).default(900),
      /** Roles that may see their tenants' approval requests and the registry, never decide. */
      viewerRoles: z.array(z.string().min(1)).default(['viewer']),
    })
    .prefault({}),
  /** Optional notification of each new pending approval request (JSON, HMAC-SHA256 signed). */
  approvalWebhook: z
    .strictObject({
      url: z.url(),
      /** Environment variable holding the HMAC secret (never the file itself). */
      secretEnv: z.string().min(1),
      timeoutMs: z.number().int().positive().max(60_000).default(5_000),
      maxAttempts: z.number().int().positive().max(10).default(5),
      /** First retry delay; doubles each attempt. */
      backoffMs: z.number().int().positive().max(60_000).default(500),
    })
    .optional(),
});
