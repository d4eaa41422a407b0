// Attack: an argument that would forge another scope when rendered — a separator (`a/pull:9`),
// a wildcard (`*`), a colon, or a unicode look-alike (Cyrillic "а" in "pаyments-api"). The broker
// refuses to render such values (input_invalid naming the field), so no claim exists for them; a
// forged claim carrying the would-be rendering is refused at the runner.
import { expect, it } from 'vitest';
import { forge } from '../helpers/forge.ts';
import { brokerFor, execute, expectRefusal, useRunner } from '../helpers/runner.ts';
import { addCommentTool, COMMENT_TOOL, writeScopedPolicy } from '../helpers/comment-tool.ts';
import { createBrokerRuntime } from '../../src/runtime/broker.ts';

const s = useRunner(async (ws) => {
  addCommentTool(ws);
  writeScopedPolicy(ws);
  await ws.relock();
});

const hostile = [
  ['a separator', 'payments-api/pull:9'],
  ['a wildcard', '*'],
  ['a wildcard suffix', 'payments-api*'],
  ['a colon', 'payments-api:x'],
  ['a Cyrillic look-alike', 'p\u0430yments-api'],
  ['a full-width solidus', 'payments-api\uff0fx'],
  ['an empty value', ''],
];

it.each(hostile)(
  'the broker refuses a repo with %s (input_invalid naming /repo)',
  async (_, repo) => {
    const broker = await brokerFor(s.t, s.ws);
    const e = await expectRefusal(
      broker.issueClaim({
        tool: COMMENT_TOOL,
        args: { repo, pull: 1 },
        sub: 'local-user',
        roles: ['admin'],
        tenant: 'default',
      }),
      'input_invalid',
      /github\.comment_pr: argument \/repo renders the scope template "repo:\{\/repo\}\/pull:\{\/pull\}"/,
    );
    expect(e.details).toMatchObject({ field: '/repo' });
  },
);

it.each(hostile)('the runner refuses a forged claim for a repo with %s', async (_, repo) => {
  const args = { repo, pull: 1 };
  const token = await forge(s.ws.brokerKey, {
    tool: COMMENT_TOOL,
    args,
    scope: ['pr:comment', `repo:${repo}/pull:1`, 'repo:*'],
  });
  await expectRefusal(
    execute(s.t, COMMENT_TOOL, args, token),
    'scope_insufficient',
    /argument \/repo/,
  );
});

it('a role granted repo:payments-api/* gets payments-api and nothing else', async () => {
  const rt = await createBrokerRuntime(s.ws.reload(), {
    stores: s.t.runner.stores,
    registry: s.t.runner.registry,
  });
  const req = (repo: string) => ({
    tool: COMMENT_TOOL,
    args: { repo, pull: 184 },
    sub: 'pay-bot',
    roles: ['payments'],
    tenant: 'default',
  });
  const ok = await rt.broker.issueClaim(req('payments-api'));
  await expect(
    execute(s.t, COMMENT_TOOL, req('payments-api').args, ok.claim),
  ).resolves.toMatchObject({ result: { ok: true } });
  await expectRefusal(
    rt.broker.issueClaim(req('payments-apix')),
    'policy_denied',
    /may not be granted scope repo:payments-apix\/pull:184/,
  );
});
