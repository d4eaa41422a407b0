// Attack: a header marking an extension critical (RFC 7515 §4.1.11) that the runner does not implement:
// a verifier that ignores `crit` would accept semantics it never checked.
import { it } from 'vitest';
import { payloadFor, signRaw } from '../helpers/forge.ts';
import { execute, expectBenignSucceeds, expectRefusal, useRunner } from '../helpers/runner.ts';

const s = useRunner();
const args = { text: 'a b' };
const claimPayload = () => payloadFor({ tool: 'text.word_count', args, scope: ['text:read'] });

it('refuses a claim with an unknown critical header extension with claim_malformed', async () => {
  const token = await signRaw(
    s.ws.brokerKey,
    { crit: ['x-toolcage-delegation'], 'x-toolcage-delegation': 'anyone' },
    claimPayload(),
  );
  await expectRefusal(
    execute(s.t, 'text.word_count', args, token),
    'claim_malformed',
    'The claim uses an unsupported header (e.g. an unknown "crit" extension).',
  );
  await expectBenignSucceeds(s.t);
});

it('refuses a crit that names a member absent from the header (the signature itself is valid)', async () => {
  const token = await signRaw(s.ws.brokerKey, { crit: ['x-absent'] }, claimPayload());
  await expectRefusal(
    execute(s.t, 'text.word_count', args, token),
    'claim_malformed',
    'The claim uses an unsupported header (e.g. an unknown "crit" extension).',
  );
  await expectBenignSucceeds(s.t);
});

it('refuses an unencoded-payload claim (b64: false), which JWTs must not use', async () => {
  const token = await signRaw(s.ws.brokerKey, { crit: ['b64'], b64: false }, claimPayload());
  await expectRefusal(
    execute(s.t, 'text.word_count', args, token),
    'claim_malformed',
    /not a valid compact JWS\/JWT|unsupported header/,
  );
  await expectBenignSucceeds(s.t);
});
