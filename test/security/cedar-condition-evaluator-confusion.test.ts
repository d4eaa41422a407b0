// Attack: conditions are decided by toolcage's own JavaScript evaluator of Cedar (src/policy/
// cedar-js*.ts), so the caller shapes arguments to hit where a naive evaluator differs from Cedar:
// - Long overflow: a spend cap `pull * pull < 1000` with pull = 3037000500, whose product passes
//   i64; an evaluator that wraps (two's complement) sees a negative product and allows. Cedar's
//   arithmetic overflow is an error; the policy errors and the call is refused.
// - a type-confused argument: `"" < 1000`, `[] < 1000` and `null < 1000` are all true in
//   JavaScript; in Cedar comparing anything but Longs is a type error, so nothing is permitted.
// - a missing attribute (a policy set the broker's strict type check would refuse, so shown on the
//   engine): a forbid reading `context.args.meta.path` when meta is absent errors; Cedar skips the
//   erroring forbid and the permit would allow. toolcage denies on any evaluation error.
import { expect, it } from 'vitest';
import { ConditionEngine } from '../../src/policy/conditions.ts';
import { createBrokerRuntime } from '../../src/runtime/broker.ts';
import { addCommentTool, COMMENT_TOOL, writeCedar } from '../helpers/comment-tool.ts';
import { expectRefusal, useRunner } from '../helpers/runner.ts';

const CAP = `@id("small-pulls") permit(principal, action == Action::"call:github.comment_pr", resource)
  when { context.args.pull * context.args.pull < 1000 };
`;

const s = useRunner(async (ws) => {
  addCommentTool(ws);
  writeCedar(ws, CAP);
  await ws.relock();
});

const broker = async () =>
  (
    await createBrokerRuntime(s.ws.reload(), {
      stores: s.t.runner.stores,
      registry: s.t.runner.registry,
    })
  ).broker;
const req = (args: unknown) => ({
  tool: COMMENT_TOOL,
  args,
  sub: 'pay-bot',
  roles: ['payments'],
  tenant: 'default',
});

it('a product past i64 is an error that denies, never a wrapped small number that allows', async () => {
  const b = await broker();
  // The cap itself works: 7 * 7 < 1000 is allowed, 40 * 40 is not.
  await b.issueClaim(req({ repo: 'payments-api', pull: 7, meta: { path: 'docs/a' } }));
  await expectRefusal(
    b.issueClaim(req({ repo: 'payments-api', pull: 40, meta: { path: 'docs/a' } })),
    'policy_denied',
    /No policy condition permits this call/,
  );
  // 3037000500² = 9223372037000250000 > 2^63 - 1: wrapped, it would be -9223372036709301616.
  const e = await expectRefusal(
    b.issueClaim(req({ repo: 'payments-api', pull: 3037000500, meta: { path: 'docs/a' } })),
    'policy_denied',
    /small-pulls: integer overflow.*an evaluation error never allows/,
  );
  expect(e.details).toEqual({ policies: ['small-pulls'] });
});

it('a forbid that cannot be evaluated (missing attribute) denies, though the permit matches', () => {
  const engine = ConditionEngine.fromText(
    `@id("base") permit(principal, action, resource);
@id("no-src") forbid(principal, action, resource) when { context.args.meta.path like "src/*" };`,
    'test.cedar',
  );
  const manifest = {
    id: COMMENT_TOOL,
    risk: 'low',
    scopes: [],
    credentials: [],
    network: 'none',
    inputSchema: {
      type: 'object',
      properties: { meta: { type: 'object', properties: { path: { type: 'string' } } } },
    },
  } as never;
  const input = (args: unknown) => ({
    manifest,
    sub: 'pay-bot',
    roles: [],
    tenant: 'default',
    args,
    rendered: [],
    nowMs: 0,
  });
  expect(engine.evaluate(input({ meta: { path: 'docs/a' } }))).toEqual({
    allowed: true,
    policyIds: ['base'],
    errors: [],
  });
  for (const args of [{}, { meta: {} }, { meta: { path: 7 } }]) {
    const v = engine.evaluate(input(args));
    expect(v.allowed, JSON.stringify(args)).toBe(false);
    expect(v.policyIds).toEqual(['base']); // Cedar's own decision would have been Allow
    expect(v.errors).toEqual([
      { policyId: 'no-src', message: expect.stringMatching(/does not have the attribute/) },
    ]);
  }
});

it('an argument of the wrong type is never compared by JavaScript coercion', () => {
  const engine = ConditionEngine.fromText(
    '@id("cap") permit(principal, action, resource) when { context.args.pull < 1000 };',
    'test.cedar',
  );
  const manifest = {
    id: 'untyped.tool',
    risk: 'low',
    scopes: [],
    credentials: [],
    network: 'none',
    // `pull` has no JSON Schema type: it is not in Cedar's view of the arguments at all.
    inputSchema: { type: 'object', properties: { pull: {} } },
  } as never;
  for (const pull of ['', [], null, '5', true, 1e21, { valueOf: 1 }]) {
    const v = engine.evaluate({
      manifest,
      sub: 'pay-bot',
      roles: [],
      tenant: 'default',
      args: { pull },
      rendered: [],
      nowMs: 0,
    });
    expect(v.allowed, JSON.stringify(pull)).toBe(false);
    expect(v.errors.map((x) => x.policyId)).toEqual(['cap']);
  }
  // A typed integer that is not a safe integer is dropped too, never rounded into a Long.
  const typed = {
    ...(manifest as object),
    inputSchema: { type: 'object', properties: { pull: { type: 'integer' } } },
  } as never;
  for (const pull of [2 ** 53, -(2 ** 60), '999']) {
    const v = engine.evaluate({
      manifest: typed,
      sub: 'x',
      roles: [],
      tenant: 't',
      args: { pull },
      rendered: [],
      nowMs: 0,
    });
    expect(v.allowed, String(pull)).toBe(false);
  }
});
