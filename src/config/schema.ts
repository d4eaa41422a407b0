import { z } from 'zod';
import { governorsConfigSchema } from '../governors/config.ts';
import { credentialsConfigSchema, egressConfigSchema } from '../credentials/config.ts';
import { telemetryConfigSchema } from '../telemetry/config.ts';

const path = z.string().min(1);
const port = z.number().int().min(0).max(65535);

/**
 * `toolcage.config.yaml`, parsed once, strictly: an unknown key is an error
 * (a typo must not silently drop a limit). Relative paths resolve from the
 * config file's folder. Anything that weakens a guarantee is named
 * `insecure…`/`unsafe…` and is off unless the file says so.
 */
export const configSchema = z.strictObject({
  /** The CLI's default principal and tenant (the HTTP services take them from the caller's identity). */
  subject: z.string().min(1).default('local-user'),
  tenant: z.string().min(1).default('default'),
  /**
   * A dev workspace (what `toolcage init` writes): allows `toolcage dev call`, which mints
   * with the broker's private key and runs in one process. Leave it off where a runner serves.
   */
  dev: z.boolean().default(false),
  registry: z
    .strictObject({
      dir: path.default('tool-manifests'),
      /** The platform JWKS the lock must be signed by. */
      publicKeys: path.default('keys/registry.jwks.json'),
      /** Private key used by `toolcage registry lock` (keep it off runner hosts). */
      signingKey: path.default('keys/registry.private.jwk.json'),
      insecureSkipLockSignature: z.boolean().default(false),
    })
    .prefault({}),
  broker: z
    .strictObject({
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
          /** RFC 8725 §3.1: the allowlist decides, never the token header. */
          algorithms: z
            .array(z.enum(['ES256', 'ES384', 'EdDSA', 'RS256', 'PS256']))
            .min(1)
            .default(['ES256', 'EdDSA', 'RS256']),
          clockToleranceSeconds: z.number().int().min(0).max(300).default(30),
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
    })
    .prefault({}),
  runner: z
    .strictObject({
      audience: z.string().min(1).default('toolcage-runner'),
      trustedIssuers: z.array(z.string().min(1)).min(1).default(['toolcage-broker']),
      brokerKeys: z
        .union([
          z.strictObject({ jwksFile: path }),
          z.strictObject({
            jwksUrl: z.url(),
            cacheMaxAgeMs: z.number().int().positive().optional(),
            cooldownMs: z.number().int().positive().optional(),
          }),
        ])
        .default({ jwksFile: 'keys/broker.jwks.json' }),
      maxTtlSeconds: z.number().int().positive().max(3600).default(300),
      clockToleranceSeconds: z.number().int().min(0).max(300).default(30),
      input: z
        .strictObject({
          maxBytes: z
            .number()
            .int()
            .positive()
            .default(1024 * 1024),
          maxDepth: z.number().int().positive().max(1000).default(64),
        })
        .prefault({}),
      http: z
        .strictObject({
          host: z.string().default('127.0.0.1'),
          port: port.default(8080),
          bodyLimitBytes: z
            .number()
            .int()
            .positive()
            .default(1024 * 1024),
          requestTimeoutMs: z.number().int().positive().default(60_000),
          shutdownGraceMs: z.number().int().positive().default(10_000),
          headersTimeoutMs: z.number().int().positive().default(10_000),
          keepAliveTimeoutMs: z.number().int().positive().default(5_000),
          /** The externally visible base URL (behind a proxy): DPoP proofs' `htu` is checked against it. Default: the request's own scheme and Host. */
          publicUrl: z.url().optional(),
          logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'silent']).default('info'),
          /** DPoP proofs (RFC 9449): how old an `iat` may be, and the clock skew allowed either way. */
          dpopMaxAgeSeconds: z.number().int().positive().max(600).default(60),
          dpopClockToleranceSeconds: z.number().int().min(0).max(60).default(5),
        })
        .prefault({}),
    })
    .prefault({}),
  state: z
    .strictObject({
      /** `sqlite`: the embedded, durable, machine-wide default. `redis`: shared by replicas. */
      stores: z.enum(['sqlite', 'redis']).default('sqlite'),
      sqliteFile: path.default('.toolcage/state.db'),
      redis: z
        .strictObject({
          url: z.string().default('redis://127.0.0.1:6379'),
          keyPrefix: z.string().default('toolcage'),
          tls: z.boolean().default(false),
          username: z.string().optional(),
          passwordEnv: z.string().optional(),
          /**
           * Serve even when Redis's maxmemory-policy is not `noeviction`: consumed
           * claim ids and approvals may then be evicted and replayed. Default false.
           */
          unsafeAllowEviction: z.boolean().default(false),
        })
        .prefault({}),
    })
    .prefault({}),
  /** The tamper-evident audit trail (docs/audit.md). */
  audit: z
    .strictObject({
      destination: z.enum(['file', 'stdout', 'stderr']).default('file'),
      file: path.default('.toolcage/audit.log'),
      /** Signs checkpoints (`toolcage keys generate --name audit`); without it checkpoints are unsigned. */
      signingKey: path.default('keys/audit.private.jwk.json'),
      /** The public half, for `toolcage audit verify`. */
      publicKeys: path.default('keys/audit.jwks.json'),
      checkpoint: z
        .strictObject({
          everyRecords: z.number().int().min(1).max(1_000_000).default(1000),
          everySeconds: z.number().positive().max(86_400).default(60),
        })
        .prefault({}),
      rotate: z
        .strictObject({
          maxBytes: z
            .number()
            .int()
            .min(4096)
            .default(64 * 1024 * 1024),
          /** Also rotate files older than this; absent: by size only. */
          everySeconds: z.number().int().min(1).optional(),
        })
        .prefault({}),
      /** fdatasync after: `never`, each `checkpoint` (default), or `always` (every batch). */
      fsync: z.enum(['never', 'checkpoint', 'always']).default('checkpoint'),
      /** Roles that may read the trail through `GET /v1/audit` on the broker. */
      readerRoles: z.array(z.string().min(1)).min(1).default(['auditor']),
    })
    .prefault({}),
  sandbox: z
    .strictObject({
      js: z
        .strictObject({
          workers: z.number().int().min(1).max(64).default(2),
          /** How long a call may wait for a free JS worker before it is refused as `sandbox_unavailable` (Retry-After), never `timeout`. */
          maxQueueWaitMs: z.number().int().min(1).max(600_000).default(5_000),
        })
        .prefault({}),
      docker: z
        .strictObject({
          enabled: z.boolean().default(true),
          socketPath: path.default('/var/run/docker.sock'),
          poolSize: z.number().int().min(0).max(64).default(2),
          /** OCI runtime for Docker tools: `auto` = gVisor (runsc) where registered, else runc (docs/gvisor.md). */
          runtime: z.enum(['auto', 'runsc', 'runc']).default('auto'),
        })
        .prefault({}),
    })
    .prefault({}),
  governors: governorsConfigSchema.prefault({}),
  /** Credential lanes manifests may name (src/credentials/config.ts). None by default. */
  credentials: credentialsConfigSchema.prefault({}),
  /** The egress boundary for tools that declare `network: { egress: [...] }` (src/credentials/config.ts). */
  egress: egressConfigSchema.prefault({}),
  /** `toolcage mcp`: the MCP server adapter. Nothing here is needed for stdio. */
  mcp: z
    .strictObject({
      /**
       * This MCP server's canonical URL: the RFC 8707 resource its clients' tokens
       * must be issued for, and the `resource` of its RFC 9728 metadata.
       * Default `http://127.0.0.1:PORT/mcp`.
       */
      resourceUrl: z.url().optional(),
      /** The identity provider whose bearer tokens HTTP clients present. `toolcage mcp --port` refuses to start without it. */
      identity: z
        .strictObject({
          issuer: z.string().min(1),
          jwksFile: path.optional(),
          jwksUrl: z.url().optional(),
          /** Default: `resourceUrl` (RFC 8707: a token for another resource is refused). */
          audience: z.string().min(1).optional(),
          /** Token claim holding the principal's roles (array, or space-separated string). */
          rolesClaim: z.string().min(1).default('roles'),
          /** Token claim naming the tenant (or tenants). Set: a token without it is refused. Unset: the config's `tenant`. */
          tenantClaim: z.string().min(1).optional(),
          /** Advertised in the protected resource metadata. Default `[issuer]`. */
          authorizationServers: z.array(z.url()).min(1).optional(),
          /** RFC 8725 §3.1: the allowlist decides, never the token header. */
          algorithms: z
            .array(z.enum(['ES256', 'ES384', 'EdDSA', 'RS256', 'PS256']))
            .min(1)
            .default(['ES256', 'EdDSA', 'RS256']),
          clockToleranceSeconds: z.number().int().min(0).max(300).default(30),
        })
        .refine((i) => (i.jwksFile === undefined) !== (i.jwksUrl === undefined), {
          message: 'set exactly one of jwksFile and jwksUrl',
        })
        .optional(),
      /** A remote runner (`toolcage serve`) by URL instead of the in-process one. */
      runnerUrl: z.url().optional(),
      /**
       * A broker service (`toolcage broker serve`) that mints this server's claims, so
       * no broker signing key lives here (docs/mcp-remote-broker.md). This server
       * authenticates as itself (an API key, or an OAuth client-credentials token) and
       * asks on behalf of each MCP caller; the broker's policy (`delegates`) decides.
       */
      broker: z
        .strictObject({
          url: z.url(),
          /** A file holding this server's broker API key (`toolcage keys api-key`). */
          apiKeyFile: path.optional(),
          /** Or a client-credentials token from the identity provider the broker trusts. */
          clientCredentials: z
            .strictObject({
              tokenUrl: z.url(),
              clientId: z.string().min(1),
              clientSecretFile: path,
              scope: z.string().min(1).optional(),
              /** RFC 8707 `resource` to ask the token for (the broker's audience). */
              resource: z.string().min(1).optional(),
            })
            .optional(),
          /** A private ES256/EdDSA JWK: claims are DPoP-bound to it (needs `runnerUrl`). */
          dpopKeyFile: path.optional(),
        })
        .refine((b) => (b.apiKeyFile === undefined) !== (b.clientCredentials === undefined), {
          message: 'set exactly one of apiKeyFile and clientCredentials',
        })
        .optional(),
      http: z
        .strictObject({
          host: z.string().default('127.0.0.1'),
          maxSessions: z.number().int().positive().max(100_000).default(1000),
          /**
           * Serve every HTTP request as the config's local principal (as stdio
           * does), with no token: for a loopback-only development or conformance
           * setup. `toolcage mcp --port` refuses it on any other host.
           */
          insecureNoAuth: z.boolean().default(false),
          /** Open Streamable HTTP sessions one identity (token subject) may hold; one more is 429. */
          maxSessionsPerPrincipal: z.number().int().positive().max(100_000).default(16),
          /** A session idle this long (no request in flight) is closed; the client re-initializes. */
          sessionIdleMs: z.number().int().min(1_000).max(86_400_000).default(900_000),
        })
        .prefault({}),
    })
    .prefault({}),
  /** OpenTelemetry spans for the pipeline stages (src/telemetry/config.ts). Off by default. */
  telemetry: telemetryConfigSchema.prefault({}),
});

export type ToolcageConfig = z.infer<typeof configSchema>;
