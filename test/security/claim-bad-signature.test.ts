// Attack: a broker-signed claim altered after signing: a flipped signature bit, or the payload of one
// claim grafted onto the signature of another.
import { base64url } from 'jose';
import { it } from 'vitest';
import { flipSignatureByte, forge } from '../helpers/forge.ts';
import { execute, expectBenignSucceeds, expectRefusal, useRunner } from '../helpers/runner.ts';

const s = useRunner();
const MESSAGE =
  'The claim signature does not verify against any trusted broker key (unknown kid or bad signature).';

it('refuses a claim with one flipped signature bit, with claim_signature_invalid', async () => {
  const args = { text: 'a b' };
  const token = flipSignatureByte(
    await forge(s.ws.brokerKey, { tool: 'text.word_count', args, scope: ['text:read'] }),
  );
  await expectRefusal(
    execute(s.t, 'text.word_count', args, token),
    'claim_signature_invalid',
    MESSAGE,
  );
  await expectBenignSucceeds(s.t);
});

it('refuses a claim whose payload was edited (wider scope) after signing', async () => {
  const args = { text: 'a b' };
  const [h, p, sig] = (
    await forge(s.ws.brokerKey, { tool: 'text.word_count', args, scope: [] })
  ).split('.');
  const payload = JSON.parse(new TextDecoder().decode(base64url.decode(p!))) as Record<
    string,
    unknown
  >;
  const edited = base64url.encode(JSON.stringify({ ...payload, scope: ['text:read'] }));
  await expectRefusal(
    execute(s.t, 'text.word_count', args, `${h}.${edited}.${sig}`),
    'claim_signature_invalid',
    MESSAGE,
  );
  await expectBenignSucceeds(s.t);
});

it('refuses a signature truncated by one byte', async () => {
  const args = { text: 'a b' };
  const token = await forge(s.ws.brokerKey, {
    tool: 'text.word_count',
    args,
    scope: ['text:read'],
  });
  const [h, p, sig] = token.split('.');
  const short = base64url.encode(base64url.decode(sig!).subarray(0, 63));
  await expectRefusal(
    execute(s.t, 'text.word_count', args, `${h}.${p}.${short}`),
    'claim_signature_invalid',
    MESSAGE,
  );
  await expectBenignSucceeds(s.t);
});
