import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { SigningKey } from '../claims/keys.ts';

export interface IssuedClaim {
  claim: string;
  expiresAt: string;
  jti: string;
}

/**
 * Signs a claim the broker decided: the registered claims (`iss`, `sub`,
 * `aud`, `iat` = `nbf`, `exp`, a fresh `jti`) around the decided `payload`,
 * with the key's algorithm and kid in the header (`typ: JWT`).
 */
export async function signClaim(o: {
  key: SigningKey;
  issuer: string;
  audience: string;
  sub: string;
  nowMs: number;
  ttlSeconds: number;
  payload: Record<string, unknown>;
}): Promise<IssuedClaim> {
  const iat = Math.floor(o.nowMs / 1000);
  const jti = randomUUID();
  const claim = await new SignJWT(o.payload)
    .setProtectedHeader({ alg: o.key.alg, kid: o.key.kid, typ: 'JWT' })
    .setIssuer(o.issuer)
    .setSubject(o.sub)
    .setAudience(o.audience)
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(iat + o.ttlSeconds)
    .setJti(jti)
    .sign(o.key.key);
  return { claim, expiresAt: new Date((iat + o.ttlSeconds) * 1000).toISOString(), jti };
}
