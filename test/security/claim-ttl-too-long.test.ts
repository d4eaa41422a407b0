// Attack: a long-lived claim (a broker bug or a leaked signing key minting day-long tokens), and a
// backdated one whose nbf is far in the past to hide a long lifetime behind a near exp.
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

it('refuses exp - nbf = 301 s (cap 300 s) with claim_ttl_too_long', async () => {
  const token = await forge(s.ws.brokerKey, {
    tool: 'text.word_count',
    args,
    scope: ['text:read'],
    nowS: NOW_S,
    ttlS: 301,
  });
  await expectRefusal(
    execute(s.t, 'text.word_count', args, token),
    'claim_ttl_too_long',
    'The claim lifetime (exp - nbf = 301 s) exceeds the 300 s maximum. Mint a claim with a shorter TTL.',
  );
  await expectBenignSucceeds(s.t);
});

it('refuses a day-long claim', async () => {
  const token = await forge(s.ws.brokerKey, {
    tool: 'text.word_count',
    args,
    scope: ['text:read'],
    nowS: NOW_S,
    ttlS: 86_400,
  });
  await expectRefusal(
    execute(s.t, 'text.word_count', args, token),
    'claim_ttl_too_long',
    'The claim lifetime (exp - nbf = 86400 s) exceeds the 300 s maximum. Mint a claim with a shorter TTL.',
  );
  await expectBenignSucceeds(s.t);
});

it('refuses a backdated claim (nbf an hour ago, exp in a minute)', async () => {
  const token = await forge(
    s.ws.brokerKey,
    { tool: 'text.word_count', args, scope: ['text:read'] },
    { iat: NOW_S - 3600, nbf: NOW_S - 3600, exp: NOW_S + 60 },
  );
  await expectRefusal(
    execute(s.t, 'text.word_count', args, token),
    'claim_ttl_too_long',
    'The claim lifetime (exp - nbf = 3660 s) exceeds the 300 s maximum. Mint a claim with a shorter TTL.',
  );
  await expectBenignSucceeds(s.t);
});
