// Attack: a claim consumed by one `toolcage run` process, presented again by a second `toolcage run`
// process (no shared memory): the durable, machine-wide SQLite replay store must refuse it.
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliError, runCli } from '../helpers/cli.ts';
import { forge } from '../helpers/forge.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';

let ws: Workspace;
beforeAll(async () => {
  ws = await makeWorkspace();
});
afterAll(() => ws.cleanup());

it('a claim consumed by `toolcage run` is refused by a second `toolcage run` process with claim_replayed', async () => {
  writeFileSync(ws.path('args.json'), '{"text":"one two"}');
  writeFileSync(
    ws.path('claim.jwt'),
    `${await forge(ws.brokerKey, { tool: 'text.word_count', args: { text: 'one two' }, scope: ['text:read'] })}\n`,
  );
  const cmd = ['run', 'text.word_count', '--claim', 'claim.jwt', '--args', 'args.json'];
  const first = await runCli(cmd, { cwd: ws.dir });
  expect(first).toMatchObject({ code: 0 });
  expect(JSON.parse(first.stdout)).toMatchObject({ result: { words: 2, lines: 1, characters: 7 } });

  const second = await runCli(cmd, { cwd: ws.dir });
  expect(second.code).toBe(2);
  expect(second.stdout).toBe('');
  expect(cliError(second)).toMatchObject({
    code: 'claim_replayed',
    message:
      'This claim has already been used. Claims are single-use: mint a fresh claim for each call.',
    requestId: expect.stringMatching(/^req_/),
  });
});
