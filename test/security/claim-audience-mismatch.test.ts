// Attack: a claim minted for another service (another runner, the broker itself) replayed at this runner.
import { it } from 'vitest';
import { forge } from '../helpers/forge.ts';
import { execute, expectBenignSucceeds, expectRefusal, useRunner } from '../helpers/runner.ts';

const s = useRunner();
const args = { text: 'a b' };

it.each([
  ['another runner', 'other-runner'],
  ['a case variant', 'Toolcage-Runner'],
  ['an aud array of another service only', ['other-runner']],
])('refuses a claim addressed to %s with claim_audience_mismatch', async (_what, aud) => {
  const token = await forge(
    s.ws.brokerKey,
    { tool: 'text.word_count', args, scope: ['text:read'] },
    { aud },
  );
  await expectRefusal(
    execute(s.t, 'text.word_count', args, token),
    'claim_audience_mismatch',
    'The claim is not addressed to this runner (aud). Ask the broker for a claim with this runner as audience.',
  );
  await expectBenignSucceeds(s.t);
});
