import {
  createLocalJWKSet,
  createRemoteJWKSet,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
} from 'jose';
import { loadJwksFile } from './keys.ts';

/**
 * Where the runner finds the broker's public keys: a JWKS file, or a JWKS URL
 * (fetched and cached by jose, refreshed on an unknown kid at most every
 * `cooldownMs`). Keys are found by the token's `kid` in this set only; the
 * token's own `jwk`/`jku`/`x5u`/`x5c` headers are never consulted.
 */
export type TrustedKeysConfig =
  | { jwksFile: string }
  | { jwksUrl: string; cacheMaxAgeMs?: number | undefined; cooldownMs?: number | undefined }
  | { jwks: JSONWebKeySet };

export function createKeyResolver(config: TrustedKeysConfig): JWTVerifyGetKey {
  if ('jwks' in config) return createLocalJWKSet(config.jwks);
  if ('jwksFile' in config) return createLocalJWKSet(loadJwksFile(config.jwksFile));
  return createRemoteJWKSet(new URL(config.jwksUrl), {
    cacheMaxAge: config.cacheMaxAgeMs ?? 10 * 60_000,
    cooldownDuration: config.cooldownMs ?? 30_000,
    timeoutDuration: 5_000,
  });
}
