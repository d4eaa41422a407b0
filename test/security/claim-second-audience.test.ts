// Attack: an aud array naming this runner and a second audience: a claim another service would also
// accept, so a token stolen there works here (RFC 8725 §3.9). One exact audience only.
import { it } from 'vitest';
import { AUDIENCE, forge } from '../helpers/forge.ts';
import { execute, expectBenignSucceeds, expectRefusal, useRunner } from '../helpers/runner.ts';

const s = useRunner();
const args = { text: 'a b' };

it.each([[[AUDIENCE, 'other-runner']], [['other-runner', AUDIENCE]], [[AUDIENCE, AUDIENCE]]])(
  'rejects a claim whose aud lists a second audience: %j',
  async (aud) => {
    const token = await forge(
      s.ws.brokerKey,
      { tool: 'text.word_count', args, scope: ['text:read'] },
      { aud },
    );
    await expectRefusal(
      execute(s.t, 'text.word_count', args, token),
      'claim_audience_mismatch',
      'The claim names more than one audience; a claim must be minted for this runner alone.',
    );
    await expectBenignSucceeds(s.t);
  },
);
