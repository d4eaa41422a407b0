// Attack: a stolen claim presented after it expired. The clock (Date) is frozen; tolerance is 30 s.
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

it('refuses a claim expired 31 s ago (just past the tolerance) with claim_expired', async () => {
  const token = await forge(s.ws.brokerKey, {
    tool: 'text.word_count',
    args,
    scope: ['text:read'],
    nowS: NOW_S - 91,
    ttlS: 60,
  });
  await expectRefusal(
    execute(s.t, 'text.word_count', args, token),
    'claim_expired',
    'The claim has expired. Mint a fresh claim with the broker.',
  );
  await expectBenignSucceeds(s.t);
});

it('refuses a claim expired a day ago', async () => {
  const token = await forge(s.ws.brokerKey, {
    tool: 'text.word_count',
    args,
    scope: ['text:read'],
    nowS: NOW_S - 86_400,
    ttlS: 60,
  });
  await expectRefusal(
    execute(s.t, 'text.word_count', args, token),
    'claim_expired',
    'The claim has expired. Mint a fresh claim with the broker.',
  );
  await expectBenignSucceeds(s.t);
});

it('accepts the same claim while still inside the tolerance (the refusal is about time, not form)', async () => {
  const token = await forge(s.ws.brokerKey, {
    tool: 'text.word_count',
    args,
    scope: ['text:read'],
    nowS: NOW_S - 85,
    ttlS: 60,
  });
  await execute(s.t, 'text.word_count', args, token);
});
