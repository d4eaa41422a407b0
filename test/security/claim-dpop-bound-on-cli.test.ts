// Attack: a claim bound to a key (cnf.jkt) presented where no proof of possession can be carried (the CLI),
// e.g. a bound claim stolen from an HTTP client's memory. Without a DPoP proof it must be refused.
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateSigningKey } from '../../src/claims/keys.ts';
import { cliError, runCli } from '../helpers/cli.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';

let ws: Workspace;
beforeAll(async () => {
  ws = await makeWorkspace();
});
afterAll(() => ws.cleanup());

it('a cnf.jkt-bound claim minted by `broker issue-claim --dpop-key` is refused by `toolcage run` with dpop_invalid', async () => {
  const { privateJwk } = await generateSigningKey('ES256');
  writeFileSync(ws.path('dpop.private.jwk.json'), JSON.stringify(privateJwk));
  writeFileSync(ws.path('args.json'), '{"text":"bound claim"}');
  const issued = await runCli(
    [
      'broker',
      'issue-claim',
      '--tool',
      'text.word_count',
      '--args',
      'args.json',
      '--dpop-key',
      'dpop.private.jwk.json',
      '--out',
      'claim.jwt',
    ],
    { cwd: ws.dir },
  );
  expect(issued.code).toBe(0);
  const run = await runCli(
    ['run', 'text.word_count', '--claim', 'claim.jwt', '--args', 'args.json'],
    { cwd: ws.dir },
  );
  expect(run.code).toBe(2);
  expect(run.stdout).toBe('');
  expect(cliError(run)).toMatchObject({
    code: 'dpop_invalid',
    message:
      'This claim is bound to a key (cnf.jkt): present a DPoP proof signed by that key (RFC 9449). Transports without DPoP, like the CLI, cannot use bound claims.',
  });
});
