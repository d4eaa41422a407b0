// Attack: a claim from an issuer the runner does not trust, signed with a trusted key (a second broker
// sharing a key, or a confused deputy minting in another's name).
import { it } from 'vitest';
import { forge } from '../helpers/forge.ts';
import { execute, expectBenignSucceeds, expectRefusal, useRunner } from '../helpers/runner.ts';

const s = useRunner();
const args = { text: 'a b' };

it.each(['evil-broker', 'toolcage-broker ', 'TOOLCAGE-BROKER', 'https://toolcage-broker'])(
  'refuses iss %j with claim_issuer_untrusted',
  async (iss) => {
    const token = await forge(
      s.ws.brokerKey,
      { tool: 'text.word_count', args, scope: ['text:read'] },
      { iss },
    );
    await expectRefusal(
      execute(s.t, 'text.word_count', args, token),
      'claim_issuer_untrusted',
      'The claim issuer is not trusted by this runner.',
    );
    await expectBenignSucceeds(s.t);
  },
);
