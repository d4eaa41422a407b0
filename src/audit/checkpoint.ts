import canonicalize from 'canonicalize';
import { CompactSign, compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import type { SigningKey } from '../ports/claims.ts';

/** The JWS `typ` of audit checkpoints: a checkpoint cannot pass for a claim, nor a claim for a checkpoint. */
export const CHECKPOINT_TYP = 'toolcage-audit-checkpoint';

export interface CheckpointPayload {
  chain: string;
  seq: number;
  head: string | null;
}

export async function signCheckpoint(key: SigningKey, payload: CheckpointPayload): Promise<string> {
  return new CompactSign(new TextEncoder().encode(canonicalize(payload)))
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: CHECKPOINT_TYP })
    .sign(key.key);
}

/** Verifies a checkpoint JWS against the audit JWKS; returns why not, or undefined when it holds. */
export async function checkCheckpoint(
  jws: string,
  expected: CheckpointPayload,
  jwks: JSONWebKeySet,
): Promise<string | undefined> {
  let payload: Uint8Array;
  try {
    const r = await compactVerify(jws, createLocalJWKSet(jwks), {
      algorithms: ['EdDSA', 'ES256'],
    });
    if (r.protectedHeader.typ !== CHECKPOINT_TYP) return 'not an audit checkpoint (typ)';
    payload = r.payload;
  } catch (err) {
    return `signature does not verify against the audit keys (${(err as { code?: string }).code ?? (err as Error).message})`;
  }
  if (new TextDecoder().decode(payload) !== canonicalize(expected))
    return 'signed chain, seq or head differ from the record';
  return undefined;
}
