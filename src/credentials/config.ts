import { z } from 'zod';
import { isLoopbackLiteral } from '../egress/lane-host.ts';

/**
 * Credential lanes and the egress boundary, as the platform team configures
 * them in `toolcage.config.yaml` (parsed strictly: an unknown key is an
 * error). Manifests only name a lane; what it is, which hosts its value may
 * be sent to and how it is scoped is decided here.
 *
 * @example
 * ```yaml
 * credentials:
 *   signingKey: keys/runner.private.jwk.json   # the runner's own key, for minted and exchange lanes
 *   lanes:
 *     github:
 *       kind: static
 *       env: TOOLCAGE_GITHUB_TOKEN
 *       hosts: [{ host: api.github.com, port: 443 }]   # scheme: https is the default
 *       expose: [egress]                               # the default: the tool never holds the value
 *       reflection: refuse                             # withhold responses that echo request headers
 *       requiredScopes: [pr:create]
 * egress:
 *   unsafeAllowPrivateAddresses: false
 * ```
 */

const SCOPE = /^[A-Za-z0-9_.:\-/]+$/;
/**
 * A lane host: where its value may be sent, and over which scheme. TLS is the
 * default; plain `http` is accepted only for a loopback IP literal (tests and
 * local fakes), so a tool cannot ask for `http://api.example:443/` and have
 * the credential sent in clear text.
 */
const hostRule = z
  .strictObject({
    host: z.string().min(1).max(253),
    port: z.number().int().min(1).max(65535),
    scheme: z.enum(['https', 'http']).default('https'),
  })
  .refine((h) => h.scheme === 'https' || isLoopbackLiteral(h.host), {
    message:
      'scheme: http is only for loopback test lanes (127.0.0.0/8 or ::1); a lane host reached over the network must use https',
  });

const common = {
  /**
   * The hosts this lane's value is sent to (`expose: egress`): the boundary adds
   * it only to requests whose connection goes to one of these host:port pairs.
   */
  hosts: z.array(hostRule).max(64).default([]),
  /** How the value is added: header name and a prefix before the value. */
  inject: z
    .strictObject({
      header: z
        .string()
        .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/)
        .default('Authorization'),
      prefix: z
        .string()
        .max(64)
        .regex(/^[\x20-\x7e]*$/)
        .default('Bearer '),
    })
    .prefault({}),
  /**
   * How tools may receive this lane's value; a manifest asking for another
   * `expose` is refused when the call leases the lane. Default: egress only
   * (the sandbox never holds the value). `file` and `env` hand the value to
   * the tool, which can then transform it past any leak scan.
   */
  expose: z
    .array(z.enum(['egress', 'file', 'env']))
    .min(1)
    .max(3)
    .default(['egress']),
  /**
   * What the egress boundary does when a response from this lane's hosts
   * echoes the request's headers (found with a random probe header sent with
   * each request that carries the credential): `scan` (default) relies on
   * the credential scan only; `strip` hands the tool the status code with an
   * empty body and no headers but content-type; `refuse` withholds the
   * response. A response carrying the credential itself is always withheld.
   */
  reflection: z.enum(['scan', 'strip', 'refuse']).default('scan'),
  /** Scopes the claim must hold to use this lane at all (`scope_insufficient` otherwise, before the run). */
  requiredScopes: z.array(z.string().regex(SCOPE)).default([]),
  /** The most a credential from this lane may carry; minted and exchanged tokens get these ∩ the claim's scope. */
  scopes: z.array(z.string().regex(SCOPE)).default([]),
};

const minted = z.strictObject({
  ...common,
  kind: z.literal('minted'),
  /** The downstream's audience string (`aud`). */
  audience: z.string().min(1),
  /** Added to the run's deadline for `exp`, covering clock skew and the response's way back. Default 5, at most 60. */
  expirySkewSeconds: z.number().int().min(0).max(60).default(5),
});

const staticLane = z
  .strictObject({
    ...common,
    kind: z.literal('static'),
    /** A file holding the secret (trailing newline trimmed). */
    file: z.string().min(1).optional(),
    /** A folder of files, one per tenant: the claim's tenant names the file. */
    dir: z.string().min(1).optional(),
    /** An environment variable of the runner process. */
    env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
      .optional(),
  })
  .refine((s) => [s.file, s.dir, s.env].filter((v) => v !== undefined).length === 1, {
    message: 'set exactly one of file, dir or env',
  });

const exchange = z
  .strictObject({
    ...common,
    kind: z.literal('exchange'),
    /** RFC 8693 token endpoint; https, or http on a loopback address only. */
    tokenEndpoint: z.url(),
    /** `audience` and `resource` parameters of the exchange (RFC 8693 §2.1). */
    audience: z.string().min(1).optional(),
    resource: z.url().optional(),
    /** The runner's client credentials at the token endpoint (HTTP Basic); the secret from a file or an env var. */
    clientId: z.string().min(1),
    clientSecretFile: z.string().min(1).optional(),
    clientSecretEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
      .optional(),
    /** Audience of the subject token the runner mints for the exchange (default: the token endpoint URL). */
    subjectTokenAudience: z.string().min(1).optional(),
    /** RFC 7009 revocation endpoint; when set, the token is revoked when the run ends. */
    revocationEndpoint: z.url().optional(),
    timeoutMs: z.number().int().positive().max(60_000).default(5_000),
  })
  .refine((s) => (s.clientSecretFile === undefined) !== (s.clientSecretEnv === undefined), {
    message: 'set exactly one of clientSecretFile or clientSecretEnv',
  });

export const laneConfigSchema = z.union([minted, staticLane, exchange]);
export type LaneConfig = z.infer<typeof laneConfigSchema>;

export const credentialsConfigSchema = z.strictObject({
  /** The runner's own private signing JWK (ES256 or EdDSA) for `minted` and `exchange` lanes; its public half is the runner JWKS. */
  signingKey: z.string().min(1).optional(),
  /** `iss` of tokens the runner mints. */
  issuer: z.string().min(1).default('toolcage-runner'),
  lanes: z
    .record(
      z.string().regex(/^[a-z][a-z0-9_-]*$/, 'lane names look like github-pr'),
      laneConfigSchema,
    )
    .default({}),
});

export const egressConfigSchema = z.strictObject({
  /**
   * Named unsafe: allow tools to connect to private, loopback, link-local and
   * metadata addresses. `true` allows all of them; a list of CIDRs allows
   * those only (tests: `["127.0.0.1/32"]`). Never set in production.
   */
  unsafeAllowPrivateAddresses: z
    .union([z.boolean(), z.array(z.string().min(1)).min(1)])
    .default(false),
  maxResponseBytes: z
    .number()
    .int()
    .positive()
    .max(64 * 1024 * 1024)
    .default(1024 * 1024),
  maxRequestBytes: z
    .number()
    .int()
    .positive()
    .max(16 * 1024 * 1024)
    .default(256 * 1024),
  requestTimeoutMs: z.number().int().positive().max(600_000).default(10_000),
  maxRequestsPerRun: z.number().int().positive().max(10_000).default(32),
});

export type CredentialsConfig = z.infer<typeof credentialsConfigSchema>;
