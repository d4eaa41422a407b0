import type { CryptoKey } from 'jose';
/**
 * The claim as every capability sees it once its signature, issuer, audience,
 * times and shape are verified (src/claims parses it with a strict schema and
 * checks at compile time that the schema and this type agree).
 */
export interface ClaimPayload {
  iss: string;
  sub: string;
  aud: string;
  iat: number;
  nbf: number;
  exp: number;
  jti: string;
  tool: string;
  scope: string[];
  args_hash: string;
  tenant: string;
  approval_id?: string | undefined;
  cnf?: { jkt: string } | undefined;
  /** The session the call belongs to, when the caller named one. */
  sid?: string | undefined;
  /** The decision record: policy set hash and the ids of the rules that decided. */
  pol?: { h: string; ids: string[] } | undefined;
}

/** A claim whose signature, issuer, audience, times and shape have been verified, and nothing more. */
export interface VerifiedClaim {
  payload: ClaimPayload;
  kid: string;
  alg: string;
}

/** Proof-of-possession check for claims bound by `cnf.jkt` (RFC 9449); throws `dpop_invalid`. */
export type DpopVerifier = (input: {
  proof: string;
  htm: string;
  htu: string;
  jkt: string;
  claim: string;
}) => Promise<void>;

/** What identifies a claim for replay: its issuer and id; its issue time where the store can use it. */
export interface ClaimId {
  iss: string;
  jti: string;
  iat?: number;
}

/** A private signing key with its id and algorithm (claims, checkpoints of the audit trail). */
export interface SigningKey {
  kid: string;
  alg: 'EdDSA' | 'ES256';
  key: CryptoKey;
}
