/**
 * A cache of identity-token verifications, for an edge that verifies the same
 * bearer token on every request (the MCP Streamable HTTP edge: a 2026-07-28
 * client sends it with each stateless request). The token is still
 * authenticated on every request; a cached result only stands in for a
 * signature check whose answer cannot have changed.
 *
 * Invariants (each proven by test/security/mcp-cached-bearer-token-expired-tampered-or-key-dropped.test.ts):
 * - Keyed by the SHA-256 of the token's exact bytes: any other token, a
 *   tampered payload or signature included, is verified in full (and, if it
 *   fails, refused; failures are never cached). The token itself is not kept.
 * - A result holds until the token's `exp` by the verifier's clock, without
 *   the clock tolerance a full verification grants (so never longer).
 * - A result holds only while the verifier's key set is the one it was
 *   reached under (`IdentityVerifier.tokenKeysVersion`): once jose fetches a
 *   JWKS URL again (its `cacheMaxAgeMs` passed, or an unknown kid), every
 *   token is verified against the new keys, exactly as without the cache, so
 *   a key dropped from the provider's JWKS stops working at the same moment.
 * - At most `maxEntries` results; the least recently used goes first.
 */
import { createHash } from 'node:crypto';
import type { IdentityVerifier } from './verifier.ts';
import type { VerifiedToken } from './principal.ts';

/** What an edge needs to authenticate a bearer identity token. */
export interface TokenVerifier {
  /** Throws `unauthenticated` with a reason that names no token content. */
  verifyToken(token: string): Promise<VerifiedToken>;
}

export interface CachedTokenVerifierOptions {
  verifier: IdentityVerifier;
  /** Default 1024. */
  maxEntries?: number;
}

interface Entry {
  result: VerifiedToken;
  /** `exp` in ms. */
  expiresAtMs: number;
  keys: object;
}

export class CachedTokenVerifier implements TokenVerifier {
  readonly #verifier: IdentityVerifier;
  readonly #max: number;
  /** In recency order (a Map keeps insertion order): the first is the least recently used. */
  readonly #entries = new Map<string, Entry>();

  constructor(options: CachedTokenVerifierOptions) {
    if (!options?.verifier)
      throw new TypeError(`Expected options.verifier, got ${String(options?.verifier)}`);
    const max = options.maxEntries ?? 1024;
    if (!Number.isSafeInteger(max) || max < 1)
      throw new TypeError(`Expected options.maxEntries to be a positive integer, got ${max}`);
    this.#verifier = options.verifier;
    this.#max = max;
  }

  /** Results held now (for tests and metrics). */
  get size(): number {
    return this.#entries.size;
  }

  async verifyToken(token: string): Promise<VerifiedToken> {
    const key = createHash('sha256').update(token, 'utf8').digest('base64');
    const keys = this.#verifier.tokenKeysVersion();
    const hit = this.#entries.get(key);
    if (hit) {
      this.#entries.delete(key);
      if (keys !== undefined && hit.keys === keys && this.#verifier.now() < hit.expiresAtMs) {
        this.#entries.set(key, hit);
        // A copy: a caller that changes its principal must not change the next request's.
        return structuredClone(hit.result);
      }
    }
    const result = await this.#verifier.verifyToken(token);
    const expiresAtMs = result.expiresAt * 1000;
    // Kept only if the keys did not change while verifying: the result is then theirs.
    if (
      keys !== undefined &&
      this.#verifier.tokenKeysVersion() === keys &&
      this.#verifier.now() < expiresAtMs
    ) {
      if (this.#entries.size >= this.#max) this.#entries.delete(this.#entries.keys().next().value!);
      this.#entries.set(key, { result: structuredClone(result), expiresAtMs, keys });
    }
    return result;
  }
}
