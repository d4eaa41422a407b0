// Cedar conditions beside the YAML roles: a condition on a nested argument, deny by default,
// forbid wins, an evaluation error denies (fail closed), the decision record travels in the
// claim (`pol`) and the audit line, and a session is bound (`sid`) and usable in conditions.
import { expect, it } from 'vitest';
import { execute, expectRefusal, useRunner } from '../helpers/runner.ts';
import { addCommentTool, COMMENT_TOOL, writeCedar } from '../helpers/comment-tool.ts';
import { createBrokerRuntime } from '../../src/runtime/broker.ts';

const s = useRunner(async (ws) => {
  addCommentTool(ws);
  writeCedar(ws);
  await ws.relock();
});

const broker = async () =>
  (
    await createBrokerRuntime(s.ws.reload(), {
      stores: s.t.runner.stores,
      registry: s.t.runner.registry,
    })
  ).broker;
const req = (args: unknown, session?: string) => ({
  tool: COMMENT_TOOL,
  args,
  sub: 'pay-bot',
  roles: ['payments'],
  tenant: 'default',
  ...(session ? { session } : {}),
});
const payload = (claim: string) =>
  JSON.parse(Buffer.from(claim.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;

it('allows a nested argument under docs/, and the decision record travels to the audit line', async () => {
  const b = await broker();
  const args = { repo: 'payments-api', pull: 7, meta: { path: 'docs/readme.md' } };
  const { claim } = await b.issueClaim(req(args, 'conv-1'));
  const p = payload(claim);
  expect(p.sid).toBe('conv-1');
  expect(p.pol).toEqual({ h: b.policyHash, ids: ['role:payments', 'base'] });
  expect(b.policyHash).toMatch(/^sha256:[0-9a-f]{64}$/);
  await execute(s.t, COMMENT_TOOL, args, claim);
  expect(s.t.audit.events.at(-1)).toMatchObject({
    outcome: 'allowed',
    session: 'conv-1',
    policy: { h: b.policyHash, ids: ['role:payments', 'base'] },
    renderedScope: ['repo:payments-api/pull:7'],
  });
});

it('refuses a nested argument outside docs/ naming the forbidding policy', async () => {
  const b = await broker();
  for (const meta of [{ path: 'src/main.ts' }, {}, undefined]) {
    await expectRefusal(
      b.issueClaim(req({ repo: 'payments-api', pull: 7, ...(meta ? { meta } : {}) })),
      'policy_denied',
      /The policy comment-docs-only forbids this call to github\.comment_pr/,
    );
  }
});

it('a session is usable in conditions and must be well-formed', async () => {
  const b = await broker();
  const args = { repo: 'payments-api', pull: 7, meta: { path: 'docs/a' } };
  await expectRefusal(
    b.issueClaim(req(args, 'quarantined')),
    'policy_denied',
    /no-quarantined-session/,
  );
  await expectRefusal(b.issueClaim(req(args, 'a b/*')), 'request_invalid', /A session id must be/);
});

it('an evaluation error denies even though a permit matches (fail closed)', async () => {
  const b = await broker();
  const e = await expectRefusal(
    b.issueClaim(req({ repo: 'payments-api', pull: 2 ** 52, meta: { path: 'docs/a' } })),
    'policy_denied',
    /could not be evaluated for github\.comment_pr \(pull-overflow: .*overflow.*\); an evaluation error never allows/,
  );
  expect(e.details).toEqual({ policies: ['pull-overflow'] });
});

it('deny by default: without a permit nothing is allowed, whatever the roles say', async () => {
  writeCedar(s.ws, '@id("only-forbid") forbid(principal, action, resource) when { false };\n');
  try {
    const b = await broker();
    await expectRefusal(
      b.issueClaim({ ...req({ text: 'x' }), tool: 'text.word_count' }),
      'policy_denied',
      /No policy condition permits this call to text\.word_count \(deny by default\)/,
    );
  } finally {
    writeCedar(s.ws);
  }
});

it('explain prints the decision and why without minting', async () => {
  const b = await broker();
  const ok = b.explain(req({ repo: 'payments-api', pull: 7, meta: { path: 'docs/a' } }, 's1'));
  expect(ok).toEqual({
    allowed: true,
    tool: COMMENT_TOOL,
    renderedScope: ['repo:payments-api/pull:7'],
    scope: ['pr:comment', 'repo:payments-api/pull:7'],
    ttlSeconds: 60,
    approvalRequired: false,
    roles: ['payments'],
    cedar: { decision: 'allow', policies: ['base'], errors: [] },
    pol: { h: b.policyHash, ids: ['role:payments', 'base'] },
  });
  const no = b.explain(req({ repo: 'payments-api', pull: 7, meta: { path: 'src/a' } }));
  expect(no).toMatchObject({
    allowed: false,
    error: { code: 'policy_denied' },
    cedar: { decision: 'deny', policies: ['comment-docs-only'], errors: [] },
  });
  const other = b.explain(req({ repo: 'ledger', pull: 7 }));
  expect(other).toMatchObject({
    allowed: false,
    error: { code: 'policy_denied', message: expect.stringMatching(/repo:ledger\/pull:7/) },
  });
  expect(other.cedar).toBeUndefined();
});
