// Attack: a claim whose nbf is now but whose iat says it was issued in the future (a broker with a
// skewed or forged clock). Frozen clock; tolerance 30 s.
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

it('refuses iat 31 s in the future with claim_not_yet_valid', async () => {
  const token = await forge(
    s.ws.brokerKey,
    { tool: 'text.word_count', args, scope: ['text:read'], nowS: NOW_S },
    { iat: NOW_S + 31 },
  );
  await expectRefusal(
    execute(s.t, 'text.word_count', args, token),
    'claim_not_yet_valid',
    'The claim was issued in the future (iat). Check the broker clock.',
  );
  await expectBenignSucceeds(s.t);
});

it('refuses iat a year in the future', async () => {
  const token = await forge(
    s.ws.brokerKey,
    { tool: 'text.word_count', args, scope: ['text:read'], nowS: NOW_S },
    { iat: NOW_S + 365 * 86_400 },
  );
  await expectRefusal(
    execute(s.t, 'text.word_count', args, token),
    'claim_not_yet_valid',
    'The claim was issued in the future (iat). Check the broker clock.',
  );
  await expectBenignSucceeds(s.t);
});
