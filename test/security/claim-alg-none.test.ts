// Attack: an unsecured JWS (`alg: none`, empty signature) carrying a perfectly valid payload.
import { expect, it } from 'vitest';
import { payloadFor, unsecured } from '../helpers/forge.ts';
import { execute, expectBenignSucceeds, expectRefusal, useRunner } from '../helpers/runner.ts';

const s = useRunner();
const args = { text: 'a b' };

it.each(['none', 'None', 'NONE', 'nOnE'])(
  'refuses alg "%s" with claim_algorithm_forbidden before any key is looked up',
  async (alg) => {
    const token = unsecured(
      payloadFor({ tool: 'text.word_count', args, scope: ['text:read'] }),
      s.ws.brokerKey.kid,
    ).replace(/^[^.]+/, (h) =>
      Buffer.from(
        Buffer.from(h, 'base64url').toString().replace('"none"', JSON.stringify(alg)),
      ).toString('base64url'),
    );
    await expectRefusal(
      execute(s.t, 'text.word_count', args, token),
      'claim_algorithm_forbidden',
      `Claim algorithm "${alg}" is forbidden; only ES256 and EdDSA are accepted.`,
    );
    await expectBenignSucceeds(s.t);
  },
);

it('refuses a token with no alg at all', async () => {
  const [, p] = unsecured(
    payloadFor({ tool: 'text.word_count', args, scope: ['text:read'] }),
  ).split('.');
  const token = `${Buffer.from(JSON.stringify({ typ: 'JWT', kid: s.ws.brokerKey.kid })).toString('base64url')}.${p}.c2ln`;
  await expectRefusal(
    execute(s.t, 'text.word_count', args, token),
    'claim_algorithm_forbidden',
    'Claim algorithm "undefined" is forbidden; only ES256 and EdDSA are accepted.',
  );
  await expectBenignSucceeds(s.t);
});

it('audits the refusal without the token', async () => {
  const token = unsecured(payloadFor({ tool: 'text.word_count', args, scope: ['text:read'] }));
  await expectRefusal(
    execute(s.t, 'text.word_count', args, token),
    'claim_algorithm_forbidden',
    /forbidden/,
  );
  const last = s.t.audit.events.at(-1)!;
  expect(last).toMatchObject({
    outcome: 'refused',
    errorCode: 'claim_algorithm_forbidden',
    toolId: 'text.word_count',
  });
  expect(JSON.stringify(last)).not.toContain(token.split('.')[1]!);
});
