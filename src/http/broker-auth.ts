import { createHash, timingSafeEqual } from 'node:crypto';
import { errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { ToolcageError } from '../errors/toolcage-error.ts';
import { createKeyResolver } from '../claims/key-source.ts';

/** Who is calling the broker, after authentication. */
export interface Principal {
  subject: string;
  roles: string[];
  /** Fixed by the credential (API key record, token claim); undefined when it does not say. */
  tenant?: string;
  /** How the caller authenticated, for the log line (`oidc` or `api_key:<id>`). */
  via: string;
}

export interface IdentityProviderConfig {
  jwksFile?: string;
  jwksUrl?: string;
  issuer: string;
  audience: string;
  rolesClaim: string;
  tenantClaim?: string;
  algorithms: string[];
  clockToleranceSeconds: number;
}

export interface ApiKeyRecord {
  id: string;
  /** hex sha256 of the key. */
  sha256: string;
  subject: string;
  roles: string[];
  tenant?: string;
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

function unauthenticated(message: string, cause?: unknown): ToolcageError {
  return new ToolcageError('unauthenticated', { message, ...(cause === undefined ? {} : { cause }) });
}

/** `sha256` hex of an API key, as the config stores it (`toolcage` never stores the key itself). */
export function apiKeyHash(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/**
 * Authenticates broker callers: a bearer identity token (an OIDC-style JWT,
 * verified against the identity provider's JWKS, issuer and audience, with
 * the algorithm from our allowlist) or a per-service API key (its sha256
 * compared with every configured hash in constant time, without early exit).
 * Deny by default: nothing configured, nothing accepted.
 */
export class BrokerAuthenticator {
  readonly #idp: (IdentityProviderConfig & { keys: JWTVerifyGetKey }) | undefined;
  readonly #apiKeys: Array<ApiKeyRecord & { digest: Buffer }>;
  readonly #now: () => number;

  constructor(options: { identity?: IdentityProviderConfig; apiKeys?: ApiKeyRecord[]; now?: () => number }) {
    const idp = options.identity;
    if (idp) {
      if ((idp.jwksFile === undefined) === (idp.jwksUrl === undefined)) throw new TypeError('Expected exactly one of identity.jwksFile or identity.jwksUrl');
      const keys = createKeyResolver(idp.jwksFile !== undefined ? { jwksFile: idp.jwksFile } : { jwksUrl: idp.jwksUrl! });
      this.#idp = { ...idp, keys };
    }
    this.#apiKeys = (options.apiKeys ?? []).map((k) => ({ ...k, digest: Buffer.from(k.sha256, 'hex') }));
    this.#now = options.now ?? Date.now;
  }

  /** From `Authorization: Bearer <token or key>` or `X-API-Key: <key>`. */
  async authenticate(headers: { authorization?: string | undefined; 'x-api-key'?: string | string[] | undefined }): Promise<Principal> {
    const apiKeyHeader = headers['x-api-key'];
    if (typeof apiKeyHeader === 'string' && apiKeyHeader !== '') return this.#apiKey(apiKeyHeader);
    const auth = headers.authorization;
    if (!auth) throw unauthenticated('No credential was presented. Send your identity token as "Authorization: Bearer <token>", or your service API key as "X-API-Key".');
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (!m) throw unauthenticated('The Authorization header must use the Bearer scheme.');
    const credential = m[1]!;
    return COMPACT_JWS.test(credential) ? this.#token(credential) : this.#apiKey(credential);
  }

  #apiKey(key: string): Principal {
    const digest = createHash('sha256').update(key, 'utf8').digest();
    let found: (ApiKeyRecord & { digest: Buffer }) | undefined;
    for (const record of this.#apiKeys) {
      // Every record is compared, so timing does not reveal which (or whether one) matched early.
      if (timingSafeEqual(digest, record.digest) && !found) found = record;
    }
    if (!found) throw unauthenticated('The API key is not valid. Ask the operator for a service key.');
    return { subject: found.subject, roles: [...found.roles], ...(found.tenant ? { tenant: found.tenant } : {}), via: `api_key:${found.id}` };
  }

  async #token(token: string): Promise<Principal> {
    const idp = this.#idp;
    if (!idp) throw unauthenticated('This broker accepts no identity tokens (no identity provider is configured); use a service API key.');
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, idp.keys, {
        algorithms: idp.algorithms,
        issuer: idp.issuer,
        audience: idp.audience,
        clockTolerance: idp.clockToleranceSeconds,
        currentDate: new Date(this.#now()),
        requiredClaims: ['sub', 'exp'],
      }));
    } catch (cause) {
      const why = cause instanceof joseErrors.JWTExpired ? 'it has expired; sign in again'
        : cause instanceof joseErrors.JWTClaimValidationFailed ? `its "${cause.claim}" claim is not accepted`
        : cause instanceof joseErrors.JOSEAlgNotAllowed ? `its algorithm is not one of ${idp.algorithms.join(', ')}`
        : 'it does not verify against the identity provider\'s keys';
      throw unauthenticated(`The identity token was refused: ${why}.`, cause);
    }
    const sub = payload.sub;
    if (typeof sub !== 'string' || sub === '' || sub.length > 256) throw unauthenticated('The identity token has no usable "sub".');
    const raw = payload[idp.rolesClaim];
    const roles = Array.isArray(raw) ? raw.filter((r): r is string => typeof r === 'string') : typeof raw === 'string' ? raw.split(/\s+/).filter(Boolean) : [];
    const tenant = idp.tenantClaim ? payload[idp.tenantClaim] : undefined;
    return { subject: sub, roles, ...(typeof tenant === 'string' && tenant !== '' ? { tenant: tenant.slice(0, 128) } : {}), via: 'oidc' };
  }
}
