import { z } from 'zod';
import { path, clockToleranceSeconds, tokenAlgorithms } from './fields.ts';

/** `mcp`: the MCP server adapter. Nothing here is needed for stdio. */
export const mcpConfigSchema = z.strictObject({
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
      algorithms: tokenAlgorithms,
      clockToleranceSeconds,
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
  /**
   * MCP Tasks (`io.modelcontextprotocol/tasks`, docs/mcp.md): a 2026-07-28
   * client that declares the extension gets a task for a call waiting for a
   * human approval; the task lives in the state stores (`state.stores`).
   */
  tasks: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** How long a task is kept after its approval request expires (its result stays readable). */
      retentionSeconds: z.number().int().min(60).max(604_800).default(3_600),
      /** The poll interval suggested to clients, and the least time between two looks at the approval. */
      pollIntervalMs: z.number().int().min(100).max(60_000).default(2_000),
      /** How long one replica may run an approved call before the task counts as interrupted. */
      runLeaseSeconds: z.number().int().min(10).max(86_400).default(900),
    })
    .prefault({}),
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
});
