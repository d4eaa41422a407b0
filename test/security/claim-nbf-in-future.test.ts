// Attack: a claim minted to become valid later (pre-minted for a window when approvals are checked less),
// presented early. Frozen clock; tolerance 30 s.
import { it } from 'vitest';
import { forge } from '../helpers/forge.ts';
import {
  execute,
  expectBenignSucceeds,
  expectRefusal,
  FROZEN_NOW_S as NOW_S,
  useRunnerOnFrozenClock,
} from '../helpers/runner.ts';

const s = useRunnerOnFrozenClock();
const args = { text: 'a b' };

it('refuses a claim whose nbf is 31 s ahead with claim_not_yet_valid', async () => {
  const token = await forge(
    s.ws.brokerKey,
    { tool: 'text.word_count', args, scope: ['text:read'] },
    { iat: NOW_S, nbf: NOW_S + 31, exp: NOW_S + 91 },
  );
  await expectRefusal(
    execute(s.t, 'text.word_count', args, token),
    'claim_not_yet_valid',
    'The claim is not valid yet (nbf/iat in the future). Check clocks, or wait.',
  );
  await expectBenignSucceeds(s.t);
});

it('refuses a claim pre-minted for tomorrow', async () => {
  const token = await forge(s.ws.brokerKey, {
    tool: 'text.word_count',
    args,
    scope: ['text:read'],
    nowS: NOW_S + 86_400,
  });
  await expectRefusal(
    execute(s.t, 'text.word_count', args, token),
    'claim_not_yet_valid',
    'The claim is not valid yet (nbf/iat in the future). Check clocks, or wait.',
  );
  await expectBenignSucceeds(s.t);
});
