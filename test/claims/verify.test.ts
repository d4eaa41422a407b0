// ClaimVerifier on its own: real keys, a frozen clock, each refusal with its contract code and message.
import { createLocalJWKSet, errors as joseErrors } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { ClaimVerifier, translateJoseError } from '../../src/claims/verify.ts';
import { generateSigningKey, signingKeyFromJwk, type SigningKey } from '../../src/claims/keys.ts';
import { ToolcageError } from '../../src/errors/toolcage-error.ts';
import { AUDIENCE, ISSUER, attackerKey, forge, payloadFor, sign } from '../helpers/forge.ts';
import { expectRefusal } from '../helpers/runner.ts';

const NOW_S = 1_900_000_000; // frozen: every exp/nbf/iat below is relative to it
let key: SigningKey;
let verifier: ClaimVerifier;
const call = { tool: 'text.word_count', args: { text: 'a b' }, nowS: NOW_S, scope: ['text:read'] };

beforeAll(async () => {
  const { privateJwk, publicJwk } = await generateSigningKey('EdDSA');
  key = await signingKeyFromJwk(privateJwk, 'test key');
  verifier = new ClaimVerifier({
    keys: createLocalJWKSet({ keys: [publicJwk] }),
    trustedIssuers: [ISSUER],
    audience: AUDIENCE,
    now: () => NOW_S * 1000,
  });
});

describe('accepts', () => {
  it('accepts a claim minted for this runner, returning its payload, kid and alg', async () => {
    const v = await verifier.verify(await forge(key, call));
    expect(v).toMatchObject({
      kid: key.kid,
      alg: 'EdDSA',
      payload: { iss: ISSUER, aud: AUDIENCE, tool: 'text.word_count', tenant: 'default' },
    });
  });

  it('accepts an ES256 claim', async () => {
    const { privateJwk, publicJwk } = await generateSigningKey('ES256');
    const es = await signingKeyFromJwk(privateJwk, 'es256');
    const v = new ClaimVerifier({
      keys: createLocalJWKSet({ keys: [publicJwk] }),
      trustedIssuers: [ISSUER],
      audience: AUDIENCE,
      now: () => NOW_S * 1000,
    });
    await expect(v.verify(await forge(es, call))).resolves.toMatchObject({ alg: 'ES256' });
  });

  it('accepts an aud array holding only this runner, and normalises it to the string', async () => {
    const v = await verifier.verify(await forge(key, call, { aud: [AUDIENCE] }));
    expect(v.payload.aud).toBe(AUDIENCE);
  });

  it('accepts a claim expired by less than the 30 s clock tolerance', async () => {
    await expect(
      verifier.verify(await forge(key, { ...call, nowS: NOW_S - 80, ttlS: 60 })),
    ).resolves.toBeTruthy();
  });

  it('accepts nbf and iat up to the tolerance in the future', async () => {
    await expect(
      verifier.verify(await forge(key, { ...call, nowS: NOW_S + 25 })),
    ).resolves.toBeTruthy();
  });

  it('accepts exp - nbf exactly at the 300 s maximum', async () => {
    await expect(verifier.verify(await forge(key, { ...call, ttlS: 300 }))).resolves.toBeTruthy();
  });

  it('remembers a consumed jti until exp + tolerance', async () => {
    const v = await verifier.verify(await forge(key, { ...call, ttlS: 60 }));
    expect(verifier.replayHorizonMs(v.payload)).toBe((NOW_S + 60 + 30) * 1000);
  });
});

describe('refuses', () => {
  it('refuses no claim at all with claim_missing', async () => {
    await expectRefusal(verifier.verify(undefined), 'claim_missing', /No claim was presented/);
    await expectRefusal(verifier.verify(''), 'claim_missing', /No claim was presented/);
  });

  it('refuses a token that is not three base64url parts with claim_malformed', async () => {
    for (const t of ['abc', 'a.b', 'a.b.c.d', 'a b.c.d', `${'a'.repeat(20_000)}.b.c`]) {
      await expectRefusal(verifier.verify(t), 'claim_malformed', /not a compact JWS/);
    }
  });

  it('refuses a header that is not JSON with claim_malformed', async () => {
    await expectRefusal(
      verifier.verify('bm90LWpzb24.e30.c2ln'),
      'claim_malformed',
      /header is not valid base64url JSON/,
    );
  });

  it('refuses a claim just past exp + tolerance with claim_expired', async () => {
    await expectRefusal(
      verifier.verify(await forge(key, { ...call, nowS: NOW_S - 90, ttlS: 60 })),
      'claim_expired',
      /has expired/,
    );
  });

  it('refuses nbf past the tolerance with claim_not_yet_valid', async () => {
    const p = payloadFor(call);
    await expectRefusal(
      verifier.verify(await sign(key, { ...p, nbf: NOW_S + 31, exp: NOW_S + 90 })),
      'claim_not_yet_valid',
      /not valid yet/,
    );
  });

  it('refuses iat past the tolerance (with nbf now) with claim_not_yet_valid', async () => {
    await expectRefusal(
      verifier.verify(await forge(key, call, { iat: NOW_S + 31 })),
      'claim_not_yet_valid',
      /issued in the future \(iat\)/,
    );
  });

  it('refuses exp - nbf one second above the maximum with claim_ttl_too_long', async () => {
    await expectRefusal(
      verifier.verify(await forge(key, { ...call, ttlS: 301 })),
      'claim_ttl_too_long',
      /exp - nbf = 301 s\) exceeds the 300 s maximum/,
    );
  });

  it('refuses exp <= nbf with claim_malformed', async () => {
    await expectRefusal(
      verifier.verify(await forge(key, call, { exp: NOW_S, nbf: NOW_S })),
      'claim_malformed',
      /expires before it becomes valid/,
    );
  });

  it.each(['iss', 'sub', 'aud', 'iat', 'nbf', 'exp', 'jti'])(
    'refuses a claim missing registered claim %s with claim_malformed naming it',
    async (field) => {
      await expectRefusal(
        verifier.verify(await forge(key, call, { [field]: undefined })),
        'claim_malformed',
        `The claim is missing or has an invalid "${field}" claim. Mint a fresh claim with the broker.`,
      );
    },
  );

  it.each(['tool', 'scope', 'args_hash', 'tenant'])(
    'refuses a claim missing toolcage field %s with claim_malformed naming it',
    async (field) => {
      await expectRefusal(
        verifier.verify(await forge(key, call, { [field]: undefined })),
        'claim_malformed',
        `The claim is missing or has invalid fields: ${field}. Mint a fresh claim with the broker.`,
      );
    },
  );

  it('refuses a non-numeric nbf with claim_malformed, not claim_not_yet_valid', async () => {
    await expectRefusal(
      verifier.verify(await forge(key, call, { nbf: 'soon' })),
      'claim_malformed',
      /invalid "nbf" claim/,
    );
  });

  it('refuses an args_hash that is not "sha256:" + 64 hex digits', async () => {
    await expectRefusal(
      verifier.verify(await forge(key, call, { args_hash: 'md5:abc' })),
      'claim_malformed',
      /invalid fields: args_hash/,
    );
  });

  it('refuses a jti too short to be unique', async () => {
    await expectRefusal(
      verifier.verify(await forge(key, call, { jti: 'x' })),
      'claim_malformed',
      /invalid fields: jti/,
    );
  });

  it('refuses an EdDSA claim with its signature part stripped with claim_signature_invalid', async () => {
    const [h, p] = (await forge(key, call)).split('.');
    await expectRefusal(
      verifier.verify(`${h}.${p}.`),
      'claim_signature_invalid',
      /does not verify against any trusted broker key/,
    );
  });

  it('refuses a header without kid with claim_malformed', async () => {
    await expectRefusal(
      verifier.verify(await sign({ alg: key.alg, key: key.key }, payloadFor(call))),
      'claim_malformed',
      /has no "kid"/,
    );
  });

  it('refuses a claim signed by a key of the right algorithm that is not in the JWKS', async () => {
    const other = await attackerKey('EdDSA', key.kid);
    await expectRefusal(
      verifier.verify(await sign(other, payloadFor(call))),
      'claim_signature_invalid',
      /does not verify against any trusted broker key/,
    );
  });
});

describe('construction', () => {
  it('throws a TypeError on options a caller got wrong', () => {
    const keys = createLocalJWKSet({ keys: [] });
    expect(
      () =>
        new ClaimVerifier({
          keys: undefined as never,
          trustedIssuers: [ISSUER],
          audience: AUDIENCE,
        }),
    ).toThrow(/Expected options.keys/);
    expect(() => new ClaimVerifier({ keys, trustedIssuers: [], audience: AUDIENCE })).toThrow(
      /trustedIssuers to be a non-empty array/,
    );
    expect(() => new ClaimVerifier({ keys, trustedIssuers: [ISSUER], audience: '' })).toThrow(
      /audience to be a non-empty string/,
    );
    expect(
      () =>
        new ClaimVerifier({ keys, trustedIssuers: [ISSUER], audience: AUDIENCE, maxTtlSeconds: 0 }),
    ).toThrow(/maxTtlSeconds > 0/);
    expect(
      () =>
        new ClaimVerifier({
          keys,
          trustedIssuers: [ISSUER],
          audience: AUDIENCE,
          clockToleranceSeconds: -1,
        }),
    ).toThrow(/clockToleranceSeconds >= 0/);
  });
});

describe('translateJoseError', () => {
  it('maps each jose error to its contract code, keeping the original as cause', () => {
    const cases: Array<[Error, string]> = [
      [new joseErrors.JWTExpired('x', {}, 'exp'), 'claim_expired'],
      [
        new joseErrors.JWTClaimValidationFailed('x', {}, 'iss', 'check_failed'),
        'claim_issuer_untrusted',
      ],
      [
        new joseErrors.JWTClaimValidationFailed('x', {}, 'aud', 'check_failed'),
        'claim_audience_mismatch',
      ],
      [
        new joseErrors.JWTClaimValidationFailed('x', {}, 'nbf', 'check_failed'),
        'claim_not_yet_valid',
      ],
      [new joseErrors.JWTClaimValidationFailed('x', {}, 'iss', 'missing'), 'claim_malformed'],
      [new joseErrors.JOSEAlgNotAllowed('x'), 'claim_algorithm_forbidden'],
      [new joseErrors.JWSSignatureVerificationFailed(), 'claim_signature_invalid'],
      [new joseErrors.JWKSNoMatchingKey(), 'claim_signature_invalid'],
      [new joseErrors.JOSENotSupported('x'), 'claim_malformed'],
      [new joseErrors.JWKSTimeout(), 'internal'],
      [new joseErrors.JWSInvalid('x'), 'claim_malformed'],
      [new Error('boom'), 'internal'],
    ];
    for (const [err, code] of cases) {
      const t = translateJoseError(err);
      expect(t).toBeInstanceOf(ToolcageError);
      expect([err.constructor.name, t.code]).toEqual([err.constructor.name, code]);
      expect(t.cause).toBe(err);
    }
  });
});
