import { createHash, timingSafeEqual } from 'node:crypto';
import { errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { createVersionedKeyResolver, type TrustedKeysConfig } from '../claims/key-source.ts';
import { ToolcageError } from '../errors/toolcage-error.ts';
import { ANY_TENANT, type Principal, type VerifiedToken } from './principal.ts';
import { defaultTenantOf, tenantList } from './tenants.ts';

/** Asymmetric algorithms only (RFC 8725 §3.1: the verifier's allowlist decides, never the token header). */
export const IDENTITY_ALGS = ['ES256', 'ES384', 'EdDSA', 'RS256', 'PS256'] as const;
export type IdentityAlgorithm = (typeof IDENTITY_ALGS)[number];

/** An OIDC-style identity provider whose bearer JWTs identify callers. */
export interface TokenIssuerConfig {
  issuer: string;
  /** The audience a token must carry (the broker's name, or the MCP server's resource URL, RFC 8707). */
  audience: string;
  keys: TrustedKeysConfig;
  /** The claim holding the roles (an array of strings, or a space-separated string). Default `roles`. */
  rolesClaim?: string;
  /**
   * The claim holding the tenant (a string) or tenants (an array). Configured:
   * a token without it is refused. Not configured: every token acts for the
   * configured tenant only.
   */
  tenantClaim?: string;
  algorithms?: readonly IdentityAlgorithm[];
  clockToleranceSeconds?: number;
}

/** A service API key: only its sha256 is stored. */
export interface ApiKeyRecord {
  id: string;
  /** hex sha256 of the key. */
  sha256: string;
  subject: string;
  roles: string[];
  /** The tenants the key may act for (`['*']`: any); the first is its default. Default: the configured tenant. */
  tenants?: string[] | undefined;
  /** Shorthand for `tenants: [tenant]`. */
  tenant?: string | undefined;
}

export interface IdentityVerifierOptions {
  tokens?: TokenIssuerConfig;
  apiKeys?: ApiKeyRecord[];
  /** The config's tenant: the only one for credentials that name none. */
  defaultTenant: string;
  now?: () => number;
}

/** The headers an edge hands in; both spellings of the API key are accepted. */
export interface CredentialHeaders {
  authorization?: string | undefined;
  'x-api-key'?: string | string[] | undefined;
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

function unauthenticated(message: string, cause?: unknown): ToolcageError {
  return new ToolcageError('unauthenticated', {
    message,
    ...(cause === undefined ? {} : { cause }),
  });
}

/** `sha256` hex of an API key, as the config stores it (toolcage never stores the key itself). */
export function apiKeyHash(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

function rolesOf(value: unknown): string[] {
  if (typeof value === 'string') return value.split(/\s+/).filter(Boolean);
  if (Array.isArray(value)) return value.filter((r): r is string => typeof r === 'string');
  return [];
}

/** A short, safe reason (no token content), fit for a WWW-Authenticate `error_description`. */
function describe(err: unknown, algorithms: readonly string[]): string {
  if (err instanceof joseErrors.JWTExpired) return 'The identity token has expired; sign in again';
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return 'The identity token was not issued for this service (audience)';
    if (err.claim === 'iss') return 'The identity token issuer is not trusted';
    return `The identity token has a missing or invalid "${err.claim}" claim`;
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed)
    return `The identity token is signed with an algorithm other than ${algorithms.join(', ')}`;
  if (err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JWKSInvalid)
    return "The identity provider's keys could not be fetched";
  if (
    err instanceof joseErrors.JWSSignatureVerificationFailed ||
    err instanceof joseErrors.JWKSNoMatchingKey
  )
    return "The identity token signature does not verify against the identity provider's keys";
  return 'The identity token is not a valid JWT';
}

/**
 * The one verifier of inbound bearer credentials, for every edge (broker
 * HTTP, MCP HTTP, the console): identity tokens from one OIDC-style provider
 * (signature against its JWKS, issuer, audience, expiry, algorithm from the
 * allowlist) and service API keys (sha256 compared with every configured hash
 * in constant time, without early exit). Deny by default: nothing configured,
 * nothing accepted. Roles come from the token or the key record; the policy
 * maps them to tools.
 */
export class IdentityVerifier {
  readonly #tokens:
    | (Required<Omit<TokenIssuerConfig, 'tenantClaim' | 'keys'>> & {
        tenantClaim?: string;
        keys: JWTVerifyGetKey;
        keysVersion: () => object | undefined;
      })
    | undefined;
  readonly #apiKeys: Array<{ record: ApiKeyRecord; digest: Buffer; tenants: string[] }>;
  readonly #defaultTenant: string;
  readonly #now: () => number;

  constructor(options: IdentityVerifierOptions) {
    if (typeof options?.defaultTenant !== 'string' || options.defaultTenant === '')
      throw new TypeError('Expected options.defaultTenant to be a non-empty string');
    this.#defaultTenant = options.defaultTenant;
    const t = options.tokens;
    if (t) {
      for (const k of ['issuer', 'audience'] as const) {
        if (typeof t[k] !== 'string' || t[k] === '')
          throw new TypeError(`Expected tokens.${k} to be a non-empty string, got ${String(t[k])}`);
      }
      const algorithms = t.algorithms ?? ['ES256', 'EdDSA', 'RS256'];
      const bad = algorithms.filter((a) => !IDENTITY_ALGS.includes(a));
      if (algorithms.length === 0 || bad.length > 0)
        throw new TypeError(
          `Expected tokens.algorithms to be a non-empty subset of ${IDENTITY_ALGS.join(', ')}, got ${algorithms.join(', ')}`,
        );
      const resolver = createVersionedKeyResolver(t.keys);
      this.#tokens = {
        issuer: t.issuer,
        audience: t.audience,
        rolesClaim: t.rolesClaim ?? 'roles',
        ...(t.tenantClaim ? { tenantClaim: t.tenantClaim } : {}),
        algorithms,
        clockToleranceSeconds: t.clockToleranceSeconds ?? 30,
        keys: resolver.getKey,
        keysVersion: resolver.version,
      };
    }
    this.#apiKeys = (options.apiKeys ?? []).map((record) => {
      const listed = tenantList(record.tenants ?? record.tenant);
      return {
        record,
        digest: Buffer.from(record.sha256, 'hex'),
        tenants: listed.length > 0 ? listed : [this.#defaultTenant],
      };
    });
    this.#now = options.now ?? Date.now;
  }

  /** The clock tokens are checked against (ms since the epoch). */
  now(): number {
    return this.#now();
  }

  /**
   * What `verifyToken` depends on besides the token and the clock: the
   * identity provider's key set. The same object while a verification would
   * use the same keys; undefined while it would first fetch them, or when no
   * provider is configured. A verification result may be reused only under
   * the version it was reached under (src/identity/token-cache.ts).
   */
  tokenKeysVersion(): object | undefined {
    return this.#tokens?.keysVersion();
  }

  /** True when no credential of any kind would be accepted. */
  get acceptsNothing(): boolean {
    return this.#tokens === undefined && this.#apiKeys.length === 0;
  }

  /** From `Authorization: Bearer <token or key>` or `X-API-Key: <key>`. */
  async authenticate(headers: CredentialHeaders): Promise<Principal> {
    const apiKeyHeader = headers['x-api-key'];
    if (typeof apiKeyHeader === 'string' && apiKeyHeader !== '')
      return this.verifyApiKey(apiKeyHeader);
    const auth = headers.authorization;
    if (!auth)
      throw unauthenticated(
        'No credential was presented. Send your identity token as "Authorization: Bearer <token>", or your service API key as "X-API-Key".',
      );
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (!m) throw unauthenticated('The Authorization header must use the Bearer scheme.');
    const credential = m[1]!;
    return COMPACT_JWS.test(credential)
      ? (await this.verifyToken(credential)).principal
      : this.verifyApiKey(credential);
  }

  verifyApiKey(key: string): Principal {
    const digest = createHash('sha256').update(key, 'utf8').digest();
    let found: { record: ApiKeyRecord; tenants: string[] } | undefined;
    for (const entry of this.#apiKeys) {
      // Every record is compared, so timing does not reveal which (or whether one) matched early.
      if (timingSafeEqual(digest, entry.digest) && !found) found = entry;
    }
    if (!found)
      throw unauthenticated('The API key is not valid. Ask the operator for a service key.');
    const { record, tenants } = found;
    return {
      subject: record.subject,
      roles: [...record.roles],
      tenants: [...tenants],
      defaultTenant: defaultTenantOf(tenants, this.#defaultTenant),
      via: `api_key:${record.id}`,
    };
  }

  /** Throws `unauthenticated` with a reason that names no token content. */
  async verifyToken(token: string): Promise<VerifiedToken> {
    const idp = this.#tokens;
    if (!idp)
      throw unauthenticated(
        'No identity provider is configured, so no identity token is accepted; use a service API key.',
      );
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, idp.keys, {
        algorithms: [...idp.algorithms],
        issuer: idp.issuer,
        audience: idp.audience,
        clockTolerance: idp.clockToleranceSeconds,
        currentDate: new Date(this.#now()),
        requiredClaims: ['sub', 'exp'],
      }));
    } catch (cause) {
      throw unauthenticated(describe(cause, idp.algorithms), cause);
    }
    const sub = payload.sub;
    if (typeof sub !== 'string' || sub === '' || sub.length > 256)
      throw unauthenticated('The identity token has no usable "sub" claim.');
    let tenants = [this.#defaultTenant];
    if (idp.tenantClaim !== undefined) {
      // "Any tenant" is the operator's to grant in the config, never a token's to claim.
      tenants = tenantList(payload[idp.tenantClaim]).filter((t) => t !== ANY_TENANT);
      // A token that does not say its tenant must not let the request say it instead.
      if (tenants.length === 0)
        throw unauthenticated(
          `The identity token has no "${idp.tenantClaim}" claim naming its tenant; this service requires one.`,
        );
    }
    return {
      principal: {
        subject: sub,
        roles: rolesOf(payload[idp.rolesClaim]),
        tenants,
        defaultTenant: defaultTenantOf(tenants, this.#defaultTenant),
        via: 'oidc',
      },
      expiresAt: payload.exp!,
      scopes: rolesOf(payload.scope),
      clientId:
        typeof payload.azp === 'string'
          ? payload.azp
          : typeof payload.client_id === 'string'
            ? payload.client_id
            : sub,
    };
  }
}
