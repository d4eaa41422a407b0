// Attack: a correctly signed claim missing one required field, hoping a check is skipped when its field
// is absent (no tool: any tool; no args_hash: any args; no aud/iss: any audience/issuer).
import { it } from 'vitest';
import { forge } from '../helpers/forge.ts';
import { execute, expectBenignSucceeds, expectRefusal, useRunner } from '../helpers/runner.ts';

const s = useRunner();
const args = { text: 'a b' };

it.each(['iss', 'sub', 'aud', 'iat', 'nbf', 'exp', 'jti'])(
  'refuses a claim without %s with claim_malformed naming the field',
  async (field) => {
    const token = await forge(
      s.ws.brokerKey,
      { tool: 'text.word_count', args, scope: ['text:read'] },
      { [field]: undefined },
    );
    await expectRefusal(
      execute(s.t, 'text.word_count', args, token),
      'claim_malformed',
      `The claim is missing or has an invalid "${field}" claim. Mint a fresh claim with the broker.`,
    );
    await expectBenignSucceeds(s.t);
  },
);

it.each(['tool', 'scope', 'args_hash', 'tenant'])(
  'refuses a claim without %s with claim_malformed naming the field',
  async (field) => {
    const token = await forge(
      s.ws.brokerKey,
      { tool: 'text.word_count', args, scope: ['text:read'] },
      { [field]: undefined },
    );
    await expectRefusal(
      execute(s.t, 'text.word_count', args, token),
      'claim_malformed',
      `The claim is missing or has invalid fields: ${field}. Mint a fresh claim with the broker.`,
    );
    await expectBenignSucceeds(s.t);
  },
);

it('refuses fields of the wrong type (scope as a string, tool as an array)', async () => {
  for (const [field, value] of [
    ['scope', 'text:read'],
    ['tool', ['text.word_count']],
    ['tenant', 7],
  ] as const) {
    const token = await forge(
      s.ws.brokerKey,
      { tool: 'text.word_count', args, scope: ['text:read'] },
      { [field]: value },
    );
    await expectRefusal(
      execute(s.t, 'text.word_count', args, token),
      'claim_malformed',
      `The claim is missing or has invalid fields: ${field}. Mint a fresh claim with the broker.`,
    );
  }
  await expectBenignSucceeds(s.t);
});
