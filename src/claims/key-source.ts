import {
  createLocalJWKSet,
  createRemoteJWKSet,
  jwksCache,
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
  return createVersionedKeyResolver(config).getKey;
}

/** A key resolver, and which key set it holds now: what a cache of verification results keys on. */
export interface VersionedKeyResolver {
  getKey: JWTVerifyGetKey;
  /**
   * The same object for as long as a verification would use the same keys, a
   * new one once they were fetched again; undefined while a verification would
   * first fetch them (a JWKS URL not fetched yet, or older than its
   * `cacheMaxAgeMs`). A result verified under one version holds only while it
   * is still the version.
   */
  version(): object | undefined;
}

export function createVersionedKeyResolver(config: TrustedKeysConfig): VersionedKeyResolver {
  if ('jwks' in config || 'jwksFile' in config) {
    // Read once, here: these keys never change for the resolver's lifetime.
    const getKey = createLocalJWKSet(
      'jwks' in config ? config.jwks : loadJwksFile(config.jwksFile),
    );
    const fixed = Object.freeze({});
    return { getKey, version: () => fixed };
  }
  // jose writes every applied fetch's key set here as a new object (its documented jwksCache
  // export), so the object's identity names the key set in use; jose still decides when to fetch.
  const fetched: { jwks?: object; uat?: number } = {};
  const getKey = createRemoteJWKSet(new URL(config.jwksUrl), {
    cacheMaxAge: config.cacheMaxAgeMs ?? 10 * 60_000,
    cooldownDuration: config.cooldownMs ?? 30_000,
    timeoutDuration: 5_000,
    [jwksCache]: fetched as Record<string, never>,
  });
  return { getKey, version: () => (getKey.fresh ? fetched.jwks : undefined) };
}
