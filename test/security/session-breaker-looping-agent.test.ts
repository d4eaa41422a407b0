// Attack: an agent looping on failures keeps burning budget. After `maxFailures` refusals or
// failures of a session within the window the session is paused: the runner refuses its calls and
// the broker refuses its claims with `session_paused`, until a human resumes it (library and CLI;
// HTTP in test/http/sessions.test.ts). Other sessions are untouched, and a forged claim naming the
// session cannot trip it.
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';
import {
  brokerFor,
  execute,
  expectRefusal,
  startRunner,
  type TestRunner,
} from '../helpers/runner.ts';
import { cliError, runCli } from '../helpers/cli.ts';
import type { Broker } from '../../src/broker/broker.ts';
import { CLI_HINTS } from '../../src/cli/hints.ts';
import { HTTP_HINTS } from '../../src/http/errors.ts';

vi.setConfig({ testTimeout: 120_000 });

let ws: Workspace;
let t: TestRunner;
let broker: Broker;
beforeAll(async () => {
  ws = await makeWorkspace({
    config: (text) => `${text}governors:\n  breaker: { maxFailures: 3, windowSeconds: 60 }\n`,
  });
  t = await startRunner(ws);
  broker = await brokerFor(t, ws);
});
afterAll(async () => {
  await t?.close();
  ws?.cleanup();
});

const mint = (args: unknown, session: string) =>
  broker.issueClaim({
    tool: 'text.word_count',
    args,
    sub: 'local-user',
    roles: ['admin'],
    tenant: 'default',
    session,
  });
const bad = { text: 42 };
const good = { text: 'a b' };

it('pauses a session after three failures, refuses it at runner and broker, and a human resumes it', async () => {
  for (let i = 0; i < 3; i++) {
    const { claim } = await mint(bad, 'loop-1');
    await expectRefusal(execute(t, 'text.word_count', bad, claim), 'input_invalid', /input schema/);
  }
  const paused = await expectRefusal(
    mint(good, 'loop-1'),
    'session_paused',
    /^Session loop-1 was paused at .* after repeated refusals or failures \(the last: input_invalid\)\. Nothing more runs in it until a human resumes it\.$/,
  );
  // The core names no command or route; each adapter names its own way to resume.
  expect(paused.hint).toEqual({ kind: 'resume_session', session: 'loop-1' });
  expect(paused.messageFor(CLI_HINTS)).toMatch(
    / Resume it with `toolcage sessions resume loop-1`\.$/,
  );
  expect(paused.messageFor(HTTP_HINTS)).toMatch(
    / POST \/v1\/sessions\/loop-1\/resume on the broker\.$/,
  );
  expect(t.audit.events.at(-1)).toMatchObject({ session: 'loop-1', errorCode: 'input_invalid' });

  // Another session, and calls without a session, go on.
  const other = await mint(good, 'loop-2');
  await expect(execute(t, 'text.word_count', good, other.claim)).resolves.toMatchObject({
    result: { words: 2 },
  });

  // A human resumes it over the CLI; the session works again.
  const r = await runCli(['sessions', 'resume', 'loop-1', '--config', ws.configFile], {
    cwd: ws.dir,
  });
  expect(r.code, r.stderr).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual({ session: 'loop-1', tenant: 'default', resumed: true });
  const again = await mint(good, 'loop-1');
  await expect(execute(t, 'text.word_count', good, again.claim)).resolves.toMatchObject({
    result: { words: 2 },
  });
  // Resuming a session that is not paused is not_found.
  const twice = await runCli(['sessions', 'resume', 'loop-1', '--config', ws.configFile], {
    cwd: ws.dir,
  });
  expect(cliError(twice).code).toBe('not_found');
});

it('the runner refuses a claim of a paused session minted before the pause', async () => {
  const early = await mint(good, 'loop-3');
  for (let i = 0; i < 3; i++) {
    const { claim } = await mint(bad, 'loop-3');
    await expectRefusal(execute(t, 'text.word_count', bad, claim), 'input_invalid', /input schema/);
  }
  await expectRefusal(
    execute(t, 'text.word_count', good, early.claim),
    'session_paused',
    /Session loop-3 was paused/,
  );
  await broker.resumeSession('default', 'loop-3', { actor: 'ops' });
});

it('forged or unverifiable claims naming a session do not count against it', async () => {
  for (let i = 0; i < 5; i++) {
    const forged = `${(await mint(good, 'victim')).claim.slice(0, -4)}AAAA`;
    await expectRefusal(
      execute(t, 'text.word_count', good, forged),
      'claim_signature_invalid',
      /./,
    );
  }
  const { claim } = await mint(good, 'victim');
  await expect(execute(t, 'text.word_count', good, claim)).resolves.toMatchObject({
    result: { words: 2 },
  });
});
