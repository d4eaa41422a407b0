import { readFileSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, errors as joseErrors, jwtVerify, type JSONWebKeySet, type JWK, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { ToolcageError } from '../errors/toolcage-error.ts';
import type { Principal } from './claim-provider.ts';

/** Asymmetric algorithms only (RFC 8725 §3.1: the verifier's allowlist decides, never the token header). */
export const IDENTITY_ALGS = ['ES256', 'ES384', 'EdDSA', 'RS256', 'PS256'] as const;

export interface IdentityVerifierOptions {
  /** The identity provider's issuer (`iss`, exact match). */
  issuer: string;
  /** The audience the token must carry (RFC 8707: this MCP server's resource URL). */
  audience: string;
  jwks: { jwksFile: string } | { jwksUrl: string } | { jwks: JSONWebKeySet };
  /** The claim holding the roles (array of strings, or a space-separated string). Default `roles`. */
  rolesClaim?: string;
  /** The claim holding the tenant; when absent from a token, `defaultTenant`. Default `tenant`. */
  tenantClaim?: string;
  defaultTenant: string;
  clockToleranceSeconds?: number;
  /** Accepted signature algorithms (asymmetric only). Default ES256, EdDSA, RS256. */
  algorithms?: ReadonlyArray<(typeof IDENTITY_ALGS)[number]>;
}

/** A verified identity: the principal the broker is asked about, and the token's expiry. */
export interface VerifiedIdentity {
  principal: Principal;
  expiresAt: number;
  scopes: string[];
  clientId: string;
}

/** Public members only: whatever a JWKS file holds, no private part is ever kept. */
function publicOnly(jwk: JWK): JWK {
  const keep = ['kty', 'crv', 'x', 'y', 'n', 'e', 'kid', 'alg', 'use'] as const;
  return Object.fromEntries(keep.filter((k) => jwk[k] !== undefined).map((k) => [k, jwk[k]])) as JWK;
}

function keySource(jwks: IdentityVerifierOptions['jwks']): JWTVerifyGetKey {
  if ('jwks' in jwks) return createLocalJWKSet({ keys: jwks.jwks.keys.map(publicOnly) });
  if ('jwksUrl' in jwks) return createRemoteJWKSet(new URL(jwks.jwksUrl), { timeoutDuration: 5000, cooldownDuration: 30_000 });
  let raw: { keys?: JWK[] };
  try {
    raw = JSON.parse(readFileSync(jwks.jwksFile, 'utf8')) as { keys?: JWK[] };
  } catch (cause) {
    throw new ToolcageError('config_invalid', { message: `Cannot read the identity provider JWKS ${jwks.jwksFile}: ${(cause as Error).message}`, cause });
  }
  if (!Array.isArray(raw?.keys)) throw new ToolcageError('config_invalid', { message: `${jwks.jwksFile} is not a JWKS ({"keys": [...]})` });
  return createLocalJWKSet({ keys: raw.keys.map(publicOnly) });
}

function rolesOf(value: unknown): string[] {
  if (typeof value === 'string') return value.split(' ').filter(Boolean);
  if (Array.isArray(value)) return value.filter((r): r is string => typeof r === 'string');
  return [];
}

/**
 * Verifies an MCP client's bearer token (an identity provider's JWT): the
 * signature against the provider's JWKS, `iss`, `exp`/`nbf`, and the audience
 * this MCP server answers to (RFC 8707 resource indicator; the MCP
 * authorization spec forbids accepting tokens minted for anything else). The
 * token is used only to learn who calls; it is never forwarded.
 */
export class IdentityVerifier {
  readonly #o: Required<Omit<IdentityVerifierOptions, 'jwks'>>;
  readonly #keys: JWTVerifyGetKey;

  constructor(options: IdentityVerifierOptions) {
    for (const k of ['issuer', 'audience', 'defaultTenant'] as const) {
      if (typeof options?.[k] !== 'string' || !options[k]) throw new TypeError(`Expected options.${k} to be a non-empty string, got ${String(options?.[k])}`);
    }
    this.#keys = keySource(options.jwks);
    this.#o = { rolesClaim: 'roles', tenantClaim: 'tenant', clockToleranceSeconds: 30, algorithms: ['ES256', 'EdDSA', 'RS256'], ...options };
    const bad = this.#o.algorithms.filter((a) => !IDENTITY_ALGS.includes(a));
    if (this.#o.algorithms.length === 0 || bad.length > 0) throw new TypeError(`Expected options.algorithms to be a non-empty subset of ${IDENTITY_ALGS.join(', ')}, got ${this.#o.algorithms.join(', ')}`);
  }

  /** Throws `unauthenticated` (with a reason fit for `error_description`) when the token is not acceptable. */
  async verify(token: string): Promise<VerifiedIdentity> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.#keys, {
        issuer: this.#o.issuer,
        audience: this.#o.audience,
        algorithms: [...this.#o.algorithms],
        clockTolerance: this.#o.clockToleranceSeconds,
        requiredClaims: ['sub', 'exp'],
      }));
    } catch (err) {
      throw new ToolcageError('unauthenticated', { message: describe(err), cause: err });
    }
    const tenantValue = payload[this.#o.tenantClaim];
    return {
      principal: {
        sub: payload.sub!,
        tenant: typeof tenantValue === 'string' && tenantValue ? tenantValue : this.#o.defaultTenant,
        roles: rolesOf(payload[this.#o.rolesClaim]),
      },
      expiresAt: payload.exp!,
      scopes: rolesOf(payload.scope),
      clientId: typeof payload.azp === 'string' ? payload.azp : typeof payload.client_id === 'string' ? payload.client_id : payload.sub!,
    };
  }
}

/** A short, safe reason (no token content) for the WWW-Authenticate `error_description`. */
function describe(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'The token has expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return 'The token was not issued for this resource (audience)';
    if (err.claim === 'iss') return 'The token issuer is not trusted';
    return `The token has a missing or invalid ${err.claim} claim`;
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'The token is signed with a forbidden algorithm';
  if (err instanceof joseErrors.JWSSignatureVerificationFailed || err instanceof joseErrors.JWKSNoMatchingKey) return 'The token signature does not verify';
  if (err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JWKSInvalid) return 'The identity provider keys could not be fetched';
  return 'The token is not a valid JWT';
}
