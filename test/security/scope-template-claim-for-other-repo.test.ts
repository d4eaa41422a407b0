// Attack: a claim rendered for repo:a/pull:1 presented with the arguments of repo:b. The runner
// re-renders the scope from the call's arguments and refuses the difference by name, before (and
// independently of) the args-hash binding: a forged claim whose args hash matches repo:b but whose
// scope says repo:a is refused too.
import { expect, it } from 'vitest';
import { forge } from '../helpers/forge.ts';
import { brokerFor, execute, expectRefusal, useRunner } from '../helpers/runner.ts';
import { addCommentTool, COMMENT_TOOL } from '../helpers/comment-tool.ts';

const s = useRunner(async (ws) => {
  addCommentTool(ws);
  await ws.relock();
});

const mint = async (args: unknown) =>
  (await brokerFor(s.t, s.ws)).issueClaim({
    tool: COMMENT_TOOL,
    args,
    sub: 'local-user',
    roles: ['admin'],
    tenant: 'default',
  });

it('the broker renders the scope into the claim and the runner accepts the same arguments', async () => {
  const args = { repo: 'a', pull: 1 };
  const { claim } = await mint(args);
  const payload = JSON.parse(Buffer.from(claim.split('.')[1]!, 'base64url').toString()) as {
    scope: string[];
  };
  expect(payload.scope).toEqual(['pr:comment', 'repo:a/pull:1']);
  await expect(execute(s.t, COMMENT_TOOL, args, claim)).resolves.toMatchObject({
    result: { ok: true, repo: 'a' },
  });
  expect(s.t.audit.events.at(-1)).toMatchObject({
    outcome: 'allowed',
    renderedScope: ['repo:a/pull:1'],
  });
});

it('refuses a claim for repo:a/pull:1 presented with repo:b, naming the rendered scope', async () => {
  const { claim } = await mint({ repo: 'a', pull: 1 });
  const e = await expectRefusal(
    execute(s.t, COMMENT_TOOL, { repo: 'b', pull: 1 }, claim),
    'scope_insufficient',
    /render the scope repo:b\/pull:1, which the claim does not carry/,
  );
  expect(e.details).toMatchObject({ missing: ['repo:b/pull:1'] });
});

it('refuses a forged claim whose args hash matches repo:b but whose scope is repo:a', async () => {
  const args = { repo: 'b', pull: 1 };
  const token = await forge(s.ws.brokerKey, {
    tool: COMMENT_TOOL,
    args,
    scope: ['pr:comment', 'repo:a/pull:1'],
  });
  await expectRefusal(
    execute(s.t, COMMENT_TOOL, args, token),
    'scope_insufficient',
    /repo:b\/pull:1/,
  );
  // A wildcard in the claim is not a grant at the runner: only the exact rendered scope counts.
  const wild = await forge(s.ws.brokerKey, {
    tool: COMMENT_TOOL,
    args,
    scope: ['pr:comment', 'repo:*'],
  });
  await expectRefusal(
    execute(s.t, COMMENT_TOOL, args, wild),
    'scope_insufficient',
    /repo:b\/pull:1/,
  );
});
