// Attack: a claim naming a kid the runner does not trust (a stale or invented key id).
import { it } from 'vitest';
import { attackerKey, payloadFor, sign } from '../helpers/forge.ts';
import { execute, expectBenignSucceeds, expectRefusal, useRunner } from '../helpers/runner.ts';

const s = useRunner();
const args = { text: 'a b' };
const MESSAGE =
  'The claim signature does not verify against any trusted broker key (unknown kid or bad signature).';

it('refuses a claim signed by the broker key under a kid not in the JWKS, with claim_signature_invalid', async () => {
  const token = await sign(
    { ...s.ws.brokerKey, kid: 'no-such-kid' },
    payloadFor({ tool: 'text.word_count', args, scope: ['text:read'] }),
  );
  await expectRefusal(
    execute(s.t, 'text.word_count', args, token),
    'claim_signature_invalid',
    MESSAGE,
  );
  await expectBenignSucceeds(s.t);
});

it('refuses a claim signed by an attacker key under its own kid', async () => {
  const k = await attackerKey('EdDSA', 'attacker-kid');
  await expectRefusal(
    execute(
      s.t,
      'text.word_count',
      args,
      await sign(k, payloadFor({ tool: 'text.word_count', args, scope: ['text:read'] })),
    ),
    'claim_signature_invalid',
    MESSAGE,
  );
  await expectBenignSucceeds(s.t);
});

it('refuses a claim signed by an attacker key that reuses the broker kid', async () => {
  const k = await attackerKey('EdDSA', s.ws.brokerKey.kid);
  await expectRefusal(
    execute(
      s.t,
      'text.word_count',
      args,
      await sign(k, payloadFor({ tool: 'text.word_count', args, scope: ['text:read'] })),
    ),
    'claim_signature_invalid',
    MESSAGE,
  );
  await expectBenignSucceeds(s.t);
});
