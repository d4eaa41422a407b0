import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { SigningKey } from '../claims/keys.ts';
import type { CredentialLane, LaneContext, LaneCredential } from './lane.ts';
import type { LaneConfig } from './config.ts';

type MintedConfig = Extract<LaneConfig, { kind: 'minted' }>;

export interface MintOptions {
  key: SigningKey;
  issuer: string;
  audience: string;
  sub: string;
  tenant: string;
  scope: string[];
  /** `exp`, epoch seconds. */
  expiresAtS: number;
  extra?: Record<string, unknown>;
  now?: () => number;
}

/** A short-lived JWT signed by the runner: fresh `jti`, `nbf` = `iat` = now, RFC 8693 §4.2 space-separated `scope`. */
export async function mintToken(o: MintOptions): Promise<string> {
  const iat = Math.floor((o.now ?? Date.now)() / 1000);
  return new SignJWT({ tenant: o.tenant, scope: o.scope.join(' '), ...o.extra })
    .setProtectedHeader({ alg: o.key.alg, kid: o.key.kid, typ: 'JWT' })
    .setIssuer(o.issuer)
    .setSubject(o.sub)
    .setAudience(o.audience)
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(o.expiresAtS)
    .setJti(randomUUID())
    .sign(o.key.key);
}

/**
 * `minted`: the runner signs a JWT for the downstream audience with the
 * claim's `sub` and `tenant`, scope = the lane's scopes ∩ the claim's,
 * `exp` = the run's deadline + `expirySkewSeconds`. Nothing to revoke: it
 * dies with the run.
 */
export class MintedLane implements CredentialLane {
  readonly name: string;
  readonly config: MintedConfig;
  readonly #key: SigningKey;
  readonly #issuer: string;
  readonly #now: () => number;

  constructor(
    name: string,
    config: MintedConfig,
    key: SigningKey,
    issuer: string,
    now: () => number = Date.now,
  ) {
    this.name = name;
    this.config = config;
    this.#key = key;
    this.#issuer = issuer;
    this.#now = now;
  }

  async issue(ctx: LaneContext): Promise<LaneCredential> {
    const value = await mintToken({
      key: this.#key,
      issuer: this.#issuer,
      audience: this.config.audience,
      sub: ctx.claim.sub,
      tenant: ctx.claim.tenant,
      scope: ctx.scope,
      expiresAtS: Math.ceil(ctx.deadlineMs / 1000) + this.config.expirySkewSeconds,
      extra: { tool: ctx.toolId },
      now: this.#now,
    });
    return { value };
  }
}
