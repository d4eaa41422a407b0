import { createHash, randomUUID } from 'node:crypto';
import {
  calculateJwkThumbprint,
  decodeProtectedHeader,
  EmbeddedJWK,
  jwtVerify,
  SignJWT,
  importJWK,
  type JWK,
  type CryptoKey,
} from 'jose';
import { ToolcageError } from '../errors/toolcage-error.ts';
import type { DpopVerifier } from '../ports/claims.ts';
import type { ReplayStore } from './replay-store.ts';
import { publicJwkOf } from './keys.ts';

/** RFC 9449 §4.3 (7): asymmetric algorithms only; this project's allowlist. */
export const DPOP_ALGS = ['ES256', 'EdDSA'] as const;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** JWK members that only a private (or symmetric) key has. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

export interface DpopProofCheck {
  proof: string;
  /** This request's method. */
  htm: string;
  /** This request's URL (query and fragment are ignored). */
  htu: string;
  /** When set, the proof's key must have this RFC 7638 thumbprint (the claim's `cnf.jkt`). */
  jkt?: string;
  /** When set, the proof must carry `ath` = base64url(sha256(accessToken)) (RFC 9449 §4.2). */
  accessToken?: string;
}

export interface DpopVerifierOptions {
  /** Consumes each proof's `jti` once, namespaced as iss `dpop:<jkt>`. */
  replay: ReplayStore;
  /** How far in the past `iat` may be (default 60 s). */
  maxAgeSeconds?: number;
  /** Clock skew allowed either way (default 5 s). */
  clockToleranceSeconds?: number;
  now?: () => number;
}

function invalid(message: string, cause?: unknown): ToolcageError {
  return new ToolcageError('dpop_invalid', {
    message: `DPoP proof rejected: ${message}`,
    ...(cause === undefined ? {} : { cause }),
  });
}

/** RFC 9449 §4.3 (9): compare `htu` without query and fragment; URL parsing normalises scheme and host case and default ports. */
export function normaliseHtu(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/** RFC 9449 §4.2: `ath` is the base64url SHA-256 of the access token's ASCII bytes. */
export function accessTokenHash(token: string): string {
  return createHash('sha256').update(token, 'ascii').digest('base64url');
}

/**
 * Verifies DPoP proofs (RFC 9449 §4.3): compact JWS, `typ` dpop+jwt, an
 * allowed asymmetric `alg`, a public `jwk` header that verifies the signature,
 * `htm`/`htu` of this request, `iat` within the window, `ath` of the claim
 * when one is presented, the key's thumbprint equal to `jkt` when one is
 * required, and the proof's own `jti` used once. Every refusal is
 * `dpop_invalid` with a message saying what to fix.
 *
 * @example
 * ```ts
 * const dpop = new DpopProofVerifier({ replay: stores.replay });
 * const runner = await createRunner(loaded, { stores, dpop: dpop.forClaims() });
 * ```
 */
export class DpopProofVerifier {
  readonly #o: Required<DpopVerifierOptions>;

  constructor(options: DpopVerifierOptions) {
    if (!options?.replay || typeof options.replay.consume !== 'function')
      throw new TypeError('Expected options.replay to be a ReplayStore');
    const maxAgeSeconds = options.maxAgeSeconds ?? 60;
    const clockToleranceSeconds = options.clockToleranceSeconds ?? 5;
    if (!(maxAgeSeconds > 0))
      throw new TypeError(`Expected maxAgeSeconds > 0, got ${maxAgeSeconds}`);
    if (!(clockToleranceSeconds >= 0))
      throw new TypeError(`Expected clockToleranceSeconds >= 0, got ${clockToleranceSeconds}`);
    this.#o = { now: Date.now, ...options, maxAgeSeconds, clockToleranceSeconds };
  }

  /** Verifies one proof; resolves to the thumbprint of its key. */
  async verify(check: DpopProofCheck): Promise<{ jkt: string }> {
    const { proof } = check;
    if (typeof proof !== 'string' || proof === '')
      throw invalid(
        'no DPoP header was sent. Sign a proof for this method and URL with your key and send it as the DPoP header.',
      );
    if (proof.length > 8192 || !COMPACT_JWS.test(proof))
      throw invalid('the DPoP header is not a compact JWS (three base64url parts).');
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(proof);
    } catch (cause) {
      throw invalid('its header is not valid base64url JSON.', cause);
    }
    if (header.typ !== 'dpop+jwt') throw invalid('its header "typ" must be "dpop+jwt".');
    if (typeof header.alg !== 'string' || !(DPOP_ALGS as readonly string[]).includes(header.alg)) {
      throw invalid(
        `algorithm "${String(header.alg).slice(0, 20)}" is not allowed; sign with ${DPOP_ALGS.join(' or ')}.`,
      );
    }
    const jwk = header.jwk as JWK | undefined;
    if (!jwk || typeof jwk !== 'object' || Array.isArray(jwk))
      throw invalid('its header must carry the public key as "jwk".');
    if (PRIVATE_MEMBERS.some((m) => m in jwk))
      throw invalid(
        'its "jwk" header carries private key material; send the public key only (and treat that key as compromised).',
      );
    if (jwk.kty !== 'EC' && jwk.kty !== 'OKP')
      throw invalid('its "jwk" must be an EC (P-256) or OKP (Ed25519) public key.');

    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(proof, EmbeddedJWK, {
        algorithms: [...DPOP_ALGS],
        typ: 'dpop+jwt',
        crit: {},
      }));
    } catch (cause) {
      throw invalid('its signature does not verify with the key in its "jwk" header.', cause);
    }
    let jkt: string;
    try {
      jkt = await calculateJwkThumbprint(publicJwkOf(jwk));
    } catch (cause) {
      throw invalid('its "jwk" header is not a valid public key.', cause);
    }
    if (check.jkt !== undefined && jkt !== check.jkt)
      throw invalid(
        'it is signed by a different key than the one this claim is bound to (cnf.jkt). Sign with the key you gave the broker.',
      );

    const { jti, htm, htu, iat, ath } = payload;
    if (typeof jti !== 'string' || jti.length < 8 || jti.length > 128)
      throw invalid('"jti" must be a unique string of 8 to 128 characters.');
    if (typeof htm !== 'string' || htm !== check.htm)
      throw invalid(
        `it is for method ${typeof htm === 'string' ? htm.slice(0, 10) : '(none)'}, not ${check.htm}. Sign a proof for this request's method ("htm").`,
      );
    const want = normaliseHtu(check.htu);
    if (typeof htu !== 'string' || want === undefined || normaliseHtu(htu) !== want)
      throw invalid(
        `it is for another URL. Sign a proof whose "htu" is ${want ?? "this request's URL"} (without query or fragment).`,
      );
    if (typeof iat !== 'number' || !Number.isFinite(iat)) throw invalid('"iat" is missing.');
    const nowS = this.#o.now() / 1000;
    if (iat > nowS + this.#o.clockToleranceSeconds)
      throw invalid('"iat" is in the future; check your clock.');
    if (iat < nowS - this.#o.maxAgeSeconds - this.#o.clockToleranceSeconds)
      throw invalid(
        `it is too old ("iat" more than ${this.#o.maxAgeSeconds} s ago). Sign a fresh proof for each request.`,
      );
    if (check.accessToken !== undefined && ath !== accessTokenHash(check.accessToken))
      throw invalid(
        '"ath" does not match the claim sent with it; the proof must carry base64url(sha256(claim)).',
      );

    // The replay window: after iat + maxAge + tolerance the proof is refused as too old anyway.
    const horizonMs = (iat + this.#o.maxAgeSeconds + 2 * this.#o.clockToleranceSeconds) * 1000;
    if (!(await this.#o.replay.consume({ iss: `dpop:${jkt}`, jti, iat }, horizonMs)))
      throw invalid(
        'this proof was already used. Sign a fresh proof (new "jti") for each request.',
      );
    return { jkt };
  }

  /** The executor's port: a proof for a claim bound by `cnf.jkt`, carrying the claim's `ath`. */
  forClaims(): DpopVerifier {
    return async ({ proof, htm, htu, jkt, claim }) => {
      await this.verify({ proof, htm, htu, jkt, accessToken: claim });
    };
  }
}

/**
 * A client's side: signs a DPoP proof for one request (tests, the bench, MCP
 * clients). `privateJwk` is an ES256 or EdDSA private JWK.
 */
export async function createDpopProof(input: {
  privateJwk: JWK;
  htm: string;
  htu: string;
  accessToken?: string;
  iat?: number;
  jti?: string;
}): Promise<string> {
  const alg = input.privateJwk.kty === 'OKP' ? 'EdDSA' : 'ES256';
  const key = (await importJWK(input.privateJwk, alg)) as CryptoKey;
  const payload: Record<string, unknown> = {
    htm: input.htm,
    htu: input.htu,
    ...(input.accessToken !== undefined ? { ath: accessTokenHash(input.accessToken) } : {}),
  };
  return new SignJWT(payload)
    .setProtectedHeader({
      alg,
      typ: 'dpop+jwt',
      jwk: publicJwkOf({ ...input.privateJwk, kid: undefined, alg: undefined } as unknown as JWK),
    })
    .setIssuedAt(input.iat ?? Math.floor(Date.now() / 1000))
    .setJti(input.jti ?? randomUUID())
    .sign(key);
}
