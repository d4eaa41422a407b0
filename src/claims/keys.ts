import { readFileSync } from 'node:fs';
import {
  exportJWK,
  generateKeyPair,
  importJWK,
  calculateJwkThumbprint,
  type JWK,
  type JSONWebKeySet,
  type CryptoKey,
} from 'jose';
import { ToolcageError } from '../errors/toolcage-error.ts';

/** RFC 8725 §3.1: the verifier's own allowlist decides the algorithm, never the token header. */
export const ALLOWED_ALGS = ['ES256', 'EdDSA'] as const;
export type SigningAlg = (typeof ALLOWED_ALGS)[number];

import type { SigningKey } from '../ports/claims.ts';

export type { SigningKey };

/** Strips everything private from a JWK (d, and any other member beyond the public ones). */
export function publicJwkOf(jwk: JWK): JWK {
  const { kty, crv, x, y, kid, alg } = jwk;
  return Object.fromEntries(
    Object.entries({ kty, crv, x, y, kid, alg, use: 'sig' }).filter(([, v]) => v !== undefined),
  ) as JWK;
}

/** A fresh key pair; the kid is the RFC 7638 thumbprint of the public key. */
export async function generateSigningKey(
  alg: SigningAlg = 'EdDSA',
): Promise<{ privateJwk: JWK; publicJwk: JWK }> {
  const { privateKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}),
  });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(publicJwkOf(jwk));
  const privateJwk: JWK = { ...jwk, kid, alg, use: 'sig' };
  return { privateJwk, publicJwk: publicJwkOf(privateJwk) };
}

function readJson(file: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new ToolcageError('config_invalid', {
      message: `Cannot read ${what} from ${file}: ${(cause as Error).message}`,
      cause,
    });
  }
}

export async function signingKeyFromJwk(jwk: JWK, where: string): Promise<SigningKey> {
  if (!jwk.d)
    throw new ToolcageError('config_invalid', {
      message: `${where} is not a private key (no "d")`,
    });
  const alg = jwk.alg as SigningAlg;
  if (!ALLOWED_ALGS.includes(alg)) {
    throw new ToolcageError('config_invalid', {
      message: `${where}: alg must be one of ${ALLOWED_ALGS.join(', ')}, got ${String(jwk.alg)}`,
    });
  }
  const kid = jwk.kid ?? (await calculateJwkThumbprint(publicJwkOf(jwk)));
  return { kid, alg, key: (await importJWK(jwk, alg)) as CryptoKey };
}

/** Loads a private signing JWK written by `toolcage keys generate`. */
export async function loadSigningKey(file: string): Promise<SigningKey> {
  return signingKeyFromJwk(readJson(file, 'a private signing key') as JWK, file);
}

/** Loads a JWKS file, keeping only public members of keys with an allowed alg and a kid. */
export function loadJwksFile(file: string): JSONWebKeySet {
  const raw = readJson(file, 'a JWKS') as { keys?: unknown };
  if (!raw || !Array.isArray(raw.keys))
    throw new ToolcageError('config_invalid', {
      message: `${file} is not a JWKS ({"keys": [...]})`,
    });
  const keys = (raw.keys as JWK[]).filter((k) => typeof k.kid === 'string').map(publicJwkOf);
  return { keys };
}
