/**
 * A claim-forging kit: everything an attacker (or a buggy broker) could put
 * in a compact JWS, signed with real keys, so each refusal is proven against
 * a token that is wrong in exactly one way.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { base64url, generateKeyPair, SignJWT, exportJWK, type CryptoKey, type JWK } from 'jose';
import type { SigningKey } from '../../src/claims/keys.ts';
import { argsHash } from '../../src/util/hash.ts';

export const ISSUER = 'toolcage-broker';
export const AUDIENCE = 'toolcage-runner';

export interface ClaimFields {
  tool: string;
  args: unknown;
  /** Seconds since the epoch the claim is minted at (default: now). */
  nowS?: number;
  ttlS?: number;
  sub?: string;
  tenant?: string;
  scope?: string[];
  approvalId?: string;
}

/** A valid payload for one call, as the broker mints it. */
export function payloadFor(f: ClaimFields): Record<string, unknown> {
  const iat = f.nowS ?? Math.floor(Date.now() / 1000);
  return {
    iss: ISSUER,
    sub: f.sub ?? 'local-user',
    aud: AUDIENCE,
    iat,
    nbf: iat,
    exp: iat + (f.ttlS ?? 60),
    jti: randomUUID(),
    tool: f.tool,
    scope: f.scope ?? [],
    args_hash: argsHash(f.args),
    tenant: f.tenant ?? 'default',
    ...(f.approvalId ? { approval_id: f.approvalId } : {}),
  };
}

/** Signs exactly this header and payload with a real key (jose adds nothing). */
export async function sign(
  key: SigningKey | { alg: string; kid?: string; key: CryptoKey },
  payload: Record<string, unknown>,
  header: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({
      alg: key.alg,
      ...(key.kid ? { kid: key.kid } : {}),
      typ: 'JWT',
      ...header,
    } as { alg: string })
    .sign(key.key);
}

/** A claim signed by `key` for one call, with fields overridden or removed (`undefined` removes). */
export async function forge(
  key: SigningKey,
  fields: ClaimFields,
  override: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
): Promise<string> {
  const payload = { ...payloadFor(fields), ...override };
  for (const [k, v] of Object.entries(override)) if (v === undefined) delete payload[k];
  return sign(key, payload, header);
}

const b64json = (v: unknown) => base64url.encode(JSON.stringify(v));

/** A compact JWS assembled by hand: `header.payload.signature`, for what jose refuses to produce. */
export function compact(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  signature: Uint8Array | string = '',
): string {
  return `${b64json(header)}.${b64json(payload)}.${typeof signature === 'string' ? signature : base64url.encode(signature)}`;
}

/** RFC 7515 unsecured JWS: `alg: none`, empty signature. */
export function unsecured(payload: Record<string, unknown>, kid?: string): string {
  return compact({ alg: 'none', typ: 'JWT', ...(kid ? { kid } : {}) }, payload, '');
}

/** The classic key-confusion attack: HS256 keyed with the bytes of the broker's public key. */
export function hs256WithSecret(
  payload: Record<string, unknown>,
  secret: string | Uint8Array,
  kid: string,
): string {
  const signingInput = `${b64json({ alg: 'HS256', typ: 'JWT', kid })}.${b64json(payload)}`;
  const mac = createHmac('sha256', secret).update(signingInput).digest();
  return `${signingInput}.${base64url.encode(mac)}`;
}

/** Flips one bit in the signature part of a compact JWS. */
export function flipSignatureByte(token: string): string {
  const [h, p, s] = token.split('.') as [string, string, string];
  const bytes = base64url.decode(s);
  bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
  return `${h}.${p}.${base64url.encode(bytes)}`;
}

/** An attacker's own key pair, of any algorithm jose can generate. */
export async function attackerKey(
  alg: string,
  kid = 'attacker',
): Promise<{ alg: string; kid: string; key: CryptoKey; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}),
  });
  return { alg, kid, key: privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg } };
}

/** Signs any header (even one jose would refuse to produce, e.g. an unknown `crit`) with a real EdDSA or ES256 key. */
export async function signRaw(
  key: SigningKey,
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
): Promise<string> {
  const signingInput = `${b64json({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header })}.${b64json(payload)}`;
  const algorithm = key.alg === 'EdDSA' ? { name: 'Ed25519' } : { name: 'ECDSA', hash: 'SHA-256' };
  const sig = new Uint8Array(
    await crypto.subtle.sign(algorithm, key.key, new TextEncoder().encode(signingInput)),
  );
  return `${signingInput}.${base64url.encode(sig)}`;
}
