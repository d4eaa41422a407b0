// Attack: a correctly signed claim in an algorithm outside the allowlist (ES384, RS256, PS256),
// carrying the broker's kid, hoping the verifier takes the algorithm from the header.
import { it } from 'vitest';
import { attackerKey, payloadFor, sign } from '../helpers/forge.ts';
import { execute, expectBenignSucceeds, expectRefusal, useRunner } from '../helpers/runner.ts';

const s = useRunner();
const args = { text: 'a b' };

it.each(['ES384', 'RS256', 'PS256', 'ES512'])(
  'refuses a %s claim with claim_algorithm_forbidden',
  async (alg) => {
    const k = await attackerKey(alg, s.ws.brokerKey.kid);
    const token = await sign(
      k,
      payloadFor({ tool: 'text.word_count', args, scope: ['text:read'] }),
    );
    await expectRefusal(
      execute(s.t, 'text.word_count', args, token),
      'claim_algorithm_forbidden',
      `Claim algorithm "${alg}" is forbidden; only ES256 and EdDSA are accepted.`,
    );
    await expectBenignSucceeds(s.t);
  },
);
