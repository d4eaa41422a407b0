// Attack: key confusion. HS256 keyed with the bytes of the broker's *public* key (RFC 8725 §2.1):
// a verifier that lets the header pick the algorithm would check the MAC with the public key as secret.
import { readFileSync } from 'node:fs';
import { createPublicKey } from 'node:crypto';
import { base64url, type JWK } from 'jose';
import { it } from 'vitest';
import { hs256WithSecret, payloadFor } from '../helpers/forge.ts';
import { execute, expectBenignSucceeds, expectRefusal, useRunner } from '../helpers/runner.ts';

const s = useRunner();
const args = { text: 'a b' };

function publicKeyEncodings(): Array<[string, string | Uint8Array]> {
  const jwks = JSON.parse(readFileSync(s.ws.path('keys', 'broker.jwks.json'), 'utf8')) as {
    keys: JWK[];
  };
  const jwk = jwks.keys[0]!;
  const pem = createPublicKey({ key: jwk as never, format: 'jwk' }).export({
    type: 'spki',
    format: 'pem',
  }) as string;
  return [
    ['the JWKS file', readFileSync(s.ws.path('keys', 'broker.jwks.json'), 'utf8')],
    ['the public JWK as JSON', JSON.stringify(jwk)],
    ['the SPKI PEM', pem],
    ['the raw key bytes (x)', base64url.decode(jwk.x!)],
  ];
}

it('refuses an HS256 claim keyed with any encoding of the broker public key, with claim_algorithm_forbidden', async () => {
  for (const [, secret] of publicKeyEncodings()) {
    const token = hs256WithSecret(
      payloadFor({ tool: 'text.word_count', args, scope: ['text:read'] }),
      secret,
      s.ws.brokerKey.kid,
    );
    await expectRefusal(
      execute(s.t, 'text.word_count', args, token),
      'claim_algorithm_forbidden',
      'Claim algorithm "HS256" is forbidden; only ES256 and EdDSA are accepted.',
    );
  }
  await expectBenignSucceeds(s.t);
});

it.each(['HS384', 'HS512'])('refuses %s the same way', async (alg) => {
  const token = hs256WithSecret(
    payloadFor({ tool: 'text.word_count', args, scope: ['text:read'] }),
    'secret',
    s.ws.brokerKey.kid,
  ).replace(
    /^[^.]+/,
    base64url.encode(JSON.stringify({ alg, typ: 'JWT', kid: s.ws.brokerKey.kid })),
  );
  await expectRefusal(
    execute(s.t, 'text.word_count', args, token),
    'claim_algorithm_forbidden',
    `Claim algorithm "${alg}" is forbidden; only ES256 and EdDSA are accepted.`,
  );
  await expectBenignSucceeds(s.t);
});
