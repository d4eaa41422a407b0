// Attack: a forbid names a Long literal beyond 2^53 (Cedar's Longs are i64). Cedar's JSON form of
// the policy carries that literal as a JavaScript number, rounded (9007199254740993 becomes
// 9007199254740992); any path that evaluated the JSON form — cedar-wasm fed the JSON, or the
// JavaScript evaluator — would enforce a different policy than the one written, and the caller
// picks the argument that reaches the written value: pull + 2 == 9007199254740993. Such a policy
// is evaluated from its text by cedar-wasm, so the forbid holds.
import { expect, it } from 'vitest';
import { ConditionEngine } from '../../src/policy/conditions.ts';

it('a forbid on a literal beyond 2^53 is enforced as written, not as rounded', () => {
  const engine = ConditionEngine.fromText(
    `@id("base") permit(principal, action, resource);
@id("exact") forbid(principal, action, resource) when { context.args.pull + 2 == 9007199254740993 };`,
    'test.cedar',
  );
  const input = (pull: number) => ({
    manifest: {
      id: 'github.comment_pr',
      risk: 'low',
      scopes: [],
      credentials: [],
      network: 'none',
      inputSchema: { type: 'object', properties: { pull: { type: 'integer' } } },
    } as never,
    sub: 'pay-bot',
    roles: [],
    tenant: 'default',
    args: { pull },
    rendered: [],
    nowMs: 0,
  });
  expect(engine.evaluate(input(Number.MAX_SAFE_INTEGER))).toEqual({
    allowed: false,
    policyIds: ['exact'],
    errors: [],
  });
  // The rounded value is not what the policy says: one below it is allowed.
  expect(engine.evaluate(input(Number.MAX_SAFE_INTEGER - 1))).toEqual({
    allowed: true,
    policyIds: ['base'],
    errors: [],
  });
});
