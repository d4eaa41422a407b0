// Attack: the token names its own verification key: an embedded `jwk`, a `jku` or `x5u` URL, an `x5c` chain
// (RFC 8725 §3.10). The runner must use only its trusted JWKS, and must not even fetch the URLs.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { attackerKey, payloadFor, sign } from '../helpers/forge.ts';
import { execute, expectBenignSucceeds, expectRefusal, useRunner } from '../helpers/runner.ts';

const s = useRunner();
const args = { text: 'a b' };
let server: Server;
let hits = 0;
let url = '';

beforeAll(async () => {
  server = createServer((_req, res) => {
    hits++;
    res.end('{"keys":[]}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
});

const refusal = (h: string) =>
  `The claim header carries "${h}": keys named by the token itself are never trusted.`;

it('refuses a claim whose header embeds the attacker public key (jwk), even with the broker kid', async () => {
  for (const kid of ['attacker', s.ws.brokerKey.kid]) {
    const k = await attackerKey('EdDSA', kid);
    const { kid: _k, alg: _a, ...jwk } = k.publicJwk;
    const token = await sign(
      k,
      payloadFor({ tool: 'text.word_count', args, scope: ['text:read'] }),
      { jwk },
    );
    await expectRefusal(
      execute(s.t, 'text.word_count', args, token),
      'claim_signature_invalid',
      refusal('jwk'),
    );
  }
  await expectBenignSucceeds(s.t);
});

it.each(['jku', 'x5u'])(
  'refuses a claim whose header points at a key URL (%s), without fetching it',
  async (h) => {
    const k = await attackerKey('ES256', 'attacker');
    const token = await sign(
      k,
      payloadFor({ tool: 'text.word_count', args, scope: ['text:read'] }),
      { [h]: url },
    );
    await expectRefusal(
      execute(s.t, 'text.word_count', args, token),
      'claim_signature_invalid',
      refusal(h),
    );
    expect(hits).toBe(0);
    await expectBenignSucceeds(s.t);
  },
);

it('refuses a claim carrying a certificate chain (x5c), even one signed by the real broker key', async () => {
  const token = await sign(
    s.ws.brokerKey,
    payloadFor({ tool: 'text.word_count', args, scope: ['text:read'] }),
    { x5c: ['MIIB'] },
  );
  await expectRefusal(
    execute(s.t, 'text.word_count', args, token),
    'claim_signature_invalid',
    refusal('x5c'),
  );
  await expectBenignSucceeds(s.t);
});
