// The fast path decides exactly as Cedar does on the whole request: each action sees only the
// policies that can apply to it, each request carries only what those policies read, and a
// repeated request gets the remembered verdict. Checked against cedar-wasm's own stateless
// `isAuthorized` with every entity, every attribute and every policy.
import { expect, it } from 'vitest';
import { ConditionEngine } from '../../src/policy/conditions.ts';
import { cedar } from '../../src/policy/cedar-module.ts';
import type { ToolManifest } from '../../src/ports/tool.ts';
import { outcomeOf, referenceDecision } from './cedar-reference.ts';

const manifest = (id: string, risk: 'low' | 'high') =>
  ({
    id,
    version: '1.0.0',
    risk,
    scopes: ['repo:write'],
    credentials: [],
    network: 'none',
    inputSchema: {
      type: 'object',
      properties: {
        path: { type: 'string' },
        n: { type: 'integer' },
        meta: { type: 'object', properties: { tag: { type: 'string' } } },
      },
      required: ['path', 'n'],
    },
  }) as unknown as ToolManifest;

const TOOLS = [manifest('repo.apply_patch', 'high'), manifest('text.count', 'low')];

const POLICIES = `@id("call-base") permit(principal, action in Action::"call", resource);
@id("approvers") permit(principal, action in Action::"approve", resource) when { principal.roles.contains("approver") };
@id("no-src-patch") forbid(principal, action == Action::"approve:repo.apply_patch", resource)
  when { context.args.path like "src/*" && principal.roles.contains("docs-lead") };
@id("self") forbid(principal, action in [Action::"approve"], resource) when { context.requester == principal.subject };
@id("tagged") forbid(principal, action, resource) when { context.args has meta && context.args.meta has tag && context.args.meta.tag == "stop" };
@id("whole-context") forbid(principal, action == Action::"call:text.count", resource) when { context.args.n == 9 && !(context == {args: context.args, hourUtc: context.hourUtc}) };
@id("ite") forbid(principal, action == Action::"call:repo.apply_patch", resource) when { (if context.args.n > 5 then resource else principal).subject == "alice" };
@id("overflow") forbid(principal, action == Action::"call:repo.apply_patch", resource) when { context.args.n * 1000000000000 < 0 };
@id("high-hours") forbid(principal, action, resource) when { resource.risk == "high" && context.hourUtc < 13 && principal.roles.contains("docs-lead") };
`;

// Twice: as written, every action's set is inside the JavaScript evaluator's subset; with a policy
// that calls an extension function (never satisfied, never erroring), every set is left to
// cedar-wasm, whose requests are pruned to what the policies read and whose verdicts are memoised.
const OUTSIDE_SUBSET =
  '@id("extension") forbid(principal, action, resource) when { decimal("1.0").lessThan(decimal("0.5")) };\n';

it.each([
  ['the JavaScript evaluator', POLICIES, []],
  ['cedar-wasm (pruned requests, memo)', POLICIES + OUTSIDE_SUBSET, ['extension']],
])(
  'decides every action exactly as Cedar does on the whole request and policy set: %s',
  (_, text, never) => {
    const engine = ConditionEngine.fromText(text, 'test.cedar');
    const parts = cedar().policySetTextToParts(text);
    if (parts.type !== 'success') throw new Error('does not parse');
    const policies = Object.fromEntries(parts.policies.map((p, i) => [engine.ids[i]!, p]));
    let cases = 0;
    const seen = new Set<string>();
    for (const m of TOOLS)
      for (const action of ['call', 'approve'] as const)
        for (const roles of [['approver'], ['approver', 'docs-lead'], []])
          for (const args of [
            { path: 'src/a.ts', n: 1 },
            { path: 'docs/a.md', n: 9, meta: { tag: 'stop' } },
            { path: 'docs/a.md', n: 2, meta: {} },
            { path: 'x', n: 20_000_000 },
          ])
            for (const requester of ['alice', 'bob']) {
              const input = {
                action,
                manifest: m,
                sub: 'alice',
                roles,
                tenant: 't1',
                requester,
                args,
                rendered: [],
                session: 's1',
                nowMs: Date.UTC(2026, 0, 1, 12),
              };
              const want = referenceDecision(input, policies);
              seen.add(want.allowed ? 'allow' : want.errorIds.length > 0 ? 'error' : 'deny');
              for (const id of [...want.policyIds, ...want.errorIds]) seen.add(id);
              // Twice: the second answer comes from the memo and must be the same.
              for (let k = 0; k < 2; k++) {
                const got = engine.evaluate(input);
                expect(outcomeOf(got), JSON.stringify(input)).toEqual(want);
              }
              cases++;
            }
    expect(cases).toBe(96);
    // The cases reach every outcome and every policy, so a wrong pruning would show.
    expect([...seen].sort()).toEqual(
      ['allow', 'deny', 'error', ...engineIds(engine).filter((id) => !never.includes(id))].sort(),
    );
  },
);

const engineIds = (e: ConditionEngine) => e.ids;

it('sends the action group when a condition, not the scope, tests `in`', () => {
  const engine = ConditionEngine.fromText(
    '@id("body-in") permit(principal, action, resource) when { action in Action::"call" };',
    'test.cedar',
  );
  const input = {
    manifest: TOOLS[1]!,
    sub: 'alice',
    roles: [],
    tenant: 't1',
    args: { path: 'x', n: 1 },
    rendered: [],
    nowMs: 0,
  };
  expect(engine.evaluate(input)).toEqual({ allowed: true, policyIds: ['body-in'], errors: [] });
  expect(engine.evaluate({ ...input, action: 'approve', requester: 'bob' }).allowed).toBe(false);
});

it('denies by default, without asking Cedar, an action no policy can apply to', () => {
  const engine = ConditionEngine.fromText(
    '@id("only-calls") permit(principal, action in Action::"call", resource);',
    'test.cedar',
  );
  expect(
    engine.evaluate({
      action: 'approve',
      manifest: TOOLS[0]!,
      sub: 'alice',
      roles: ['approver'],
      tenant: 't1',
      requester: 'bob',
      args: { path: 'docs/a', n: 1 },
      rendered: [],
      nowMs: 0,
    }),
  ).toEqual({ allowed: false, policyIds: [], errors: [] });
});
