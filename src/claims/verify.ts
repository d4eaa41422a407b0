import { errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { ToolcageError } from '../errors/toolcage-error.ts';
import type { ErrorCode } from '../errors/catalogue.ts';
import type { ClaimPayload, VerifiedClaim } from '../ports/claims.ts';
import { claimPayloadSchema } from './claim.ts';
import { ALLOWED_ALGS } from './keys.ts';

export interface ClaimVerifierOptions {
  /** Finds the verification key by kid in the trusted JWKS. */
  keys: JWTVerifyGetKey;
  /** Issuers whose claims are accepted (exact match). */
  trustedIssuers: string[];
  /** This runner's audience string (exact match, one audience). */
  audience: string;
  /** Largest accepted `exp - nbf`, seconds (default 300). */
  maxTtlSeconds?: number;
  /** Clock skew tolerance, seconds (default 30). */
  clockToleranceSeconds?: number;
  /** Injectable clock (tests freeze it). */
  now?: () => number;
}

// The signature part may be empty so that an unsecured JWS (RFC 7515 §A.5, `alg: none`) reaches the
// algorithm check and is refused as claim_algorithm_forbidden; jose refuses an empty signature for any allowed alg.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
/** Header members that would let a token choose its own key (RFC 8725 §3.10); never honoured, so refused. */
const KEY_CARRYING_HEADERS = ['jwk', 'jku', 'x5u', 'x5c'] as const;
/** Registered claims every claim carries (jose refuses a claim without one). */
const REQUIRED_CLAIMS = Object.freeze(['iss', 'sub', 'aud', 'iat', 'nbf', 'exp', 'jti']);
const ALGORITHMS = Object.freeze([...ALLOWED_ALGS]);
const NO_CRIT = Object.freeze({});
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The protected header, for the checks made before jose verifies (which parses it again from the
 * same text): strict base64url, strict UTF-8, a JSON object, as jose's `decodeProtectedHeader`,
 * without its general-purpose path. `token` has already matched COMPACT_JWS.
 */
function protectedHeaderOf(token: string): Record<string, unknown> {
  const encoded = token.slice(0, token.indexOf('.'));
  if (encoded.length % 4 === 1) throw new TypeError('not base64url');
  const header: unknown = JSON.parse(UTF8.decode(Buffer.from(encoded, 'base64url')));
  if (header === null || typeof header !== 'object' || Array.isArray(header))
    throw new TypeError('not a JSON object');
  return header as Record<string, unknown>;
}

function refuse(code: ErrorCode, message: string, cause?: unknown): ToolcageError {
  return new ToolcageError(code, { message, cause });
}

/** Translates jose's errors into contract codes, in one place (tested in test/claims/verify.test.ts). */
export function translateJoseError(err: unknown): ToolcageError {
  if (err instanceof ToolcageError) return err;
  if (err instanceof joseErrors.JWTExpired)
    return refuse(
      'claim_expired',
      'The claim has expired. Mint a fresh claim with the broker.',
      err,
    );
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    // A missing or non-numeric registered claim is a malformed claim, not an untrusted
    // issuer or a claim "not valid yet": jose reports both with the claim's name.
    if (err.reason === 'missing' || err.reason === 'invalid') {
      return refuse(
        'claim_malformed',
        `The claim is missing or has an invalid "${err.claim}" claim. Mint a fresh claim with the broker.`,
        err,
      );
    }
    switch (err.claim) {
      case 'iss':
        return refuse(
          'claim_issuer_untrusted',
          'The claim issuer is not trusted by this runner.',
          err,
        );
      case 'aud':
        return refuse(
          'claim_audience_mismatch',
          'The claim is not addressed to this runner (aud). Ask the broker for a claim with this runner as audience.',
          err,
        );
      case 'nbf':
      case 'iat':
        return refuse(
          'claim_not_yet_valid',
          'The claim is not valid yet (nbf/iat in the future). Check clocks, or wait.',
          err,
        );
      default:
        return refuse(
          'claim_malformed',
          `The claim is missing or has an invalid "${err.claim}" claim. Mint a fresh claim with the broker.`,
          err,
        );
    }
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed)
    return refuse(
      'claim_algorithm_forbidden',
      `Only ${ALLOWED_ALGS.join(' and ')} claims are accepted.`,
      err,
    );
  if (
    err instanceof joseErrors.JWSSignatureVerificationFailed ||
    err instanceof joseErrors.JWKSNoMatchingKey ||
    err instanceof joseErrors.JWKSMultipleMatchingKeys
  ) {
    return refuse(
      'claim_signature_invalid',
      'The claim signature does not verify against any trusted broker key (unknown kid or bad signature).',
      err,
    );
  }
  if (err instanceof joseErrors.JOSENotSupported)
    return refuse(
      'claim_malformed',
      'The claim uses an unsupported header (e.g. an unknown "crit" extension).',
      err,
    );
  if (err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JWKSInvalid) {
    return new ToolcageError('internal', {
      message: 'The trusted JWKS could not be fetched or parsed.',
      cause: err,
    });
  }
  if (err instanceof joseErrors.JOSEError)
    return refuse('claim_malformed', 'The claim is not a valid compact JWS/JWT.', err);
  return new ToolcageError('internal', { cause: err });
}

/**
 * Verifies everything a claim says about itself: form, algorithm (from our
 * allowlist, RFC 8725 §3.1), signature by a trusted kid, iss, a single exact
 * aud, exp/nbf/iat with tolerance, the TTL cap, and the required fields.
 * Binding to the call (tool, scope, args, approval, jti, DPoP) is the
 * executor's next step.
 */
export class ClaimVerifier {
  readonly #opts: Required<Omit<ClaimVerifierOptions, 'now'>> & { now: () => number };

  constructor(options: ClaimVerifierOptions) {
    if (typeof options?.keys !== 'function')
      throw new TypeError(
        `Expected options.keys to be a key resolver function, got ${typeof options?.keys}`,
      );
    if (!Array.isArray(options.trustedIssuers) || options.trustedIssuers.length === 0)
      throw new TypeError('Expected options.trustedIssuers to be a non-empty array');
    if (typeof options.audience !== 'string' || options.audience === '')
      throw new TypeError(
        `Expected options.audience to be a non-empty string, got ${String(options.audience)}`,
      );
    const maxTtlSeconds = options.maxTtlSeconds ?? 300;
    const clockToleranceSeconds = options.clockToleranceSeconds ?? 30;
    if (!(maxTtlSeconds > 0))
      throw new TypeError(`Expected maxTtlSeconds > 0, got ${maxTtlSeconds}`);
    if (!(clockToleranceSeconds >= 0))
      throw new TypeError(`Expected clockToleranceSeconds >= 0, got ${clockToleranceSeconds}`);
    this.#opts = { ...options, maxTtlSeconds, clockToleranceSeconds, now: options.now ?? Date.now };
  }

  get clockToleranceSeconds(): number {
    return this.#opts.clockToleranceSeconds;
  }

  async verify(token: string | undefined): Promise<VerifiedClaim> {
    if (token === undefined || token === '') throw new ToolcageError('claim_missing');
    if (token.length > 16_384 || !COMPACT_JWS.test(token)) {
      throw refuse(
        'claim_malformed',
        'The claim is not a compact JWS (three base64url parts). Mint a fresh claim with the broker.',
      );
    }
    let header: Record<string, unknown>;
    try {
      header = protectedHeaderOf(token);
    } catch (cause) {
      throw refuse('claim_malformed', 'The claim header is not valid base64url JSON.', cause);
    }
    if (
      typeof header.alg !== 'string' ||
      !(ALLOWED_ALGS as readonly string[]).includes(header.alg)
    ) {
      throw refuse(
        'claim_algorithm_forbidden',
        `Claim algorithm "${String(header.alg)}" is forbidden; only ${ALLOWED_ALGS.join(' and ')} are accepted.`,
      );
    }
    for (const h of KEY_CARRYING_HEADERS) {
      if (h in header)
        throw refuse(
          'claim_signature_invalid',
          `The claim header carries "${h}": keys named by the token itself are never trusted.`,
        );
    }
    if (typeof header.kid !== 'string' || header.kid === '')
      throw refuse('claim_malformed', 'The claim header has no "kid".');

    const nowMs = this.#opts.now();
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.#opts.keys, {
        algorithms: ALGORITHMS as string[],
        issuer: this.#opts.trustedIssuers,
        audience: this.#opts.audience,
        clockTolerance: this.#opts.clockToleranceSeconds,
        currentDate: new Date(nowMs),
        requiredClaims: REQUIRED_CLAIMS as string[],
        crit: NO_CRIT,
      }));
    } catch (err) {
      throw translateJoseError(err);
    }

    // One exact audience: an aud array naming a second audience is a claim
    // another service could also accept, so it is refused (RFC 8725 §3.9).
    const aud = payload.aud;
    if (Array.isArray(aud) && aud.length !== 1) {
      throw refuse(
        'claim_audience_mismatch',
        'The claim names more than one audience; a claim must be minted for this runner alone.',
      );
    }
    const parsed = claimPayloadSchema.safeParse(payload);
    if (!parsed.success) {
      const fields = [
        ...new Set(parsed.error.issues.map((i) => i.path.join('.') || '(root)')),
      ].join(', ');
      throw refuse(
        'claim_malformed',
        `The claim is missing or has invalid fields: ${fields}. Mint a fresh claim with the broker.`,
      );
    }
    // Typed, not cast: the compiler checks that the schema yields a ClaimPayload (src/ports/claims.ts).
    const claim: ClaimPayload = {
      ...parsed.data,
      aud: Array.isArray(parsed.data.aud) ? parsed.data.aud[0]! : parsed.data.aud,
    };
    const nowS = nowMs / 1000;
    if (claim.iat > nowS + this.#opts.clockToleranceSeconds)
      throw refuse(
        'claim_not_yet_valid',
        'The claim was issued in the future (iat). Check the broker clock.',
      );
    if (claim.exp <= claim.nbf)
      throw refuse('claim_malformed', 'The claim expires before it becomes valid (exp <= nbf).');
    if (claim.exp - claim.nbf > this.#opts.maxTtlSeconds) {
      throw refuse(
        'claim_ttl_too_long',
        `The claim lifetime (exp - nbf = ${claim.exp - claim.nbf} s) exceeds the ${this.#opts.maxTtlSeconds} s maximum. Mint a claim with a shorter TTL.`,
      );
    }
    return { payload: claim, kid: header.kid, alg: header.alg };
  }

  /** When a consumed jti may be forgotten: exp + tolerance (after that the claim is refused as expired anyway). */
  replayHorizonMs(claim: ClaimPayload): number {
    return (claim.exp + this.#opts.clockToleranceSeconds) * 1000;
  }
}
