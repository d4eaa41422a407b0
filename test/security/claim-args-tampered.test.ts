// Attack: mint a claim for harmless arguments, then call with different ones (the claim's args_hash
// binds it to exactly one argument envelope).
import { it } from 'vitest';
import { forge } from '../helpers/forge.ts';
import { execute, expectBenignSucceeds, expectRefusal, useRunner } from '../helpers/runner.ts';

const s = useRunner();
const MESSAGE =
  'The arguments do not match the args_hash the claim was minted for. Mint a claim for exactly these arguments.';

it.each([
  ['a changed value', { text: 'a b' }, { text: 'a b c' }],
  ['an added key', { text: 'a b' }, { text: 'a b', extra: 1 }],
  [
    'a string for a number',
    { document: { n: 1 }, pointers: ['/n'] },
    { document: { n: '1' }, pointers: ['/n'] },
  ],
  [
    'a different Unicode normalisation (JCS does not normalise)',
    { text: 'caf\u00e9' },
    { text: 'cafe\u0301' },
  ],
  [
    'an array reordered',
    { document: [1, 2], pointers: ['/0', '/1'] },
    { document: [1, 2], pointers: ['/1', '/0'] },
  ],
  ['no arguments at all', { text: 'a b' }, undefined],
])('refuses %s with args_mismatch', async (_what, minted, sent) => {
  const tool = 'text' in (minted as object) ? 'text.word_count' : 'data.json_query';
  const token = await forge(s.ws.brokerKey, {
    tool,
    args: minted,
    scope: ['text:read', 'data:read'],
  });
  await expectRefusal(execute(s.t, tool, sent, token), 'args_mismatch', MESSAGE);
  await expectBenignSucceeds(s.t);
});

it('refuses arguments that cannot be canonicalised with input_invalid', async () => {
  const token = await forge(s.ws.brokerKey, {
    tool: 'text.word_count',
    args: { text: 'a' },
    scope: ['text:read'],
  });
  await expectRefusal(
    execute(s.t, 'text.word_count', { text: 'a', n: Number.NaN }, token),
    'input_invalid',
    // The refusal names the field that cannot be canonicalised.
    /^args\.n is a number too large for JSON .*cannot be canonicalised as JSON \(RFC 8785\)/,
  );
  await expectBenignSucceeds(s.t);
});
