// The JavaScript evaluator (src/policy/cedar-js*.ts) against cedar-wasm itself: thousands of
// generated policy sets and requests, with type confusion, missing attributes, entities not in the
// request and Long overflow, must give the same decision, the same determining policy ids and the
// same erroring policy ids as cedar-wasm's `isAuthorized` on the whole request (cedar-reference.ts).
import { expect, it } from 'vitest';
import { cedar } from '../../src/policy/cedar-module.ts';
import { JsPolicySet } from '../../src/policy/cedar-js.ts';
import { jsRequest, toolFacts } from '../../src/policy/cedar-request.ts';
import { cedarTypeOf } from '../../src/policy/cedar-schema.ts';
import { ConditionEngine, type ConditionInput } from '../../src/policy/conditions.ts';
import type { ToolManifest } from '../../src/ports/tool.ts';
import { outcomeOf, referenceDecision } from './cedar-reference.ts';

/** mulberry32: a seeded generator, so that a failure replays. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  return { next, int, pick, chance: (p: number) => next() < p };
}
type Rng = ReturnType<typeof rng>;

const manifest = (id: string, risk: string) =>
  ({
    id,
    version: '1.0.0',
    risk,
    scopes: ['repo:write', 'text:read'],
    credentials: [],
    network: 'none',
    inputSchema: {
      type: 'object',
      properties: {
        path: { type: 'string' },
        n: { type: 'integer' },
        m: { type: 'integer' },
        tags: { type: 'array', items: { type: 'string' } },
        meta: {
          type: 'object',
          properties: { tag: { type: 'string' }, level: { type: 'integer' } },
        },
      },
      required: ['path', 'n'],
    },
  }) as unknown as ToolManifest;

const TOOLS = [manifest('t1', 'high'), manifest('t2', 'low')];
const MAX = Number.MAX_SAFE_INTEGER;
const LONGS = [0, 1, -1, 2, 5, 9, 13, 100, 2 ** 31, 3037000499, 3037000500, MAX, -MAX, 2 ** 52];
const STRINGS = [
  '',
  'a',
  'src/a.ts',
  'docs/x.md',
  'doc-1',
  'alice',
  'bob',
  'high',
  'ñ',
  '😀x',
  'a*b',
];
const ROLES = ['admin', 'approver', 'docs-lead'];

type Ty = 'bool' | 'long' | 'string' | 'set' | 'entity' | 'record';
const TYPES: readonly Ty[] = ['bool', 'long', 'string', 'set', 'entity', 'record'];

const quote = (s: string) => JSON.stringify(s);

/** A Cedar expression of (usually) type `ty`; now and then of another type, to reach type errors. */
function expr(r: Rng, ty: Ty, depth: number): string {
  if (r.chance(0.06)) ty = r.pick(TYPES);
  const leaf = depth <= 0 || r.chance(0.3);
  switch (ty) {
    case 'long':
      if (leaf)
        return r.pick([
          () => String(r.pick(LONGS)),
          () => 'context.args.n',
          () => 'context.args.m', // optional: missing → error
          () => 'context.hourUtc',
          () => 'context.args.meta.level',
          () => `(${-r.pick(LONGS)})`,
        ])();
      return r.pick([
        () =>
          `(${expr(r, 'long', depth - 1)} ${r.pick(['+', '-', '*'])} ${expr(r, 'long', depth - 1)})`,
        () => `(-${expr(r, 'long', depth - 1)})`,
        () =>
          `(if ${expr(r, 'bool', depth - 1)} then ${expr(r, 'long', depth - 1)} else ${expr(r, 'long', depth - 1)})`,
        () => `${expr(r, 'record', depth - 1)}.${r.pick(['n', 'level', 'a'])}`,
      ])();
    case 'string':
      if (leaf)
        return r.pick([
          () => quote(r.pick(STRINGS)),
          () => 'context.args.path',
          () => 'principal.subject',
          () => 'context.session',
          () => 'resource.risk',
          () => 'context.args.meta.tag',
          () => 'context.requester', // only on approve: missing on call → error
        ])();
      return `(if ${expr(r, 'bool', depth - 1)} then ${expr(r, 'string', depth - 1)} else ${expr(r, 'string', depth - 1)})`;
    case 'set':
      if (leaf)
        return r.pick([
          () => 'principal.roles',
          () => 'resource.scopes',
          () => 'context.scopes',
          () => 'context.args.tags',
          () => '[]',
          () => `[${quote(r.pick(ROLES))}, ${quote(r.pick(STRINGS))}]`,
          () => `[${r.pick(LONGS)}, ${quote(r.pick(STRINGS))}]`,
        ])();
      return `[${expr(r, r.pick(TYPES), depth - 1)}, ${expr(r, r.pick(TYPES), depth - 1)}]`;
    case 'entity':
      return r.pick([
        () => 'principal',
        () => 'resource',
        () => 'action',
        () => 'User::"alice"',
        () => 'User::"bob"',
        () => 'Tool::"t1"',
        () => 'Action::"call"',
        () => 'Action::"approve"',
        () =>
          depth > 0
            ? `(if ${expr(r, 'bool', depth - 1)} then principal else resource)`
            : 'principal',
      ])();
    case 'record':
      if (leaf || r.chance(0.5))
        return r.pick(['context.args', 'context.args.meta', 'context', '{}'] as const);
      return `{n: ${expr(r, 'long', depth - 1)}, a: ${expr(r, r.pick(TYPES), depth - 1)}}`;
    case 'bool': {
      if (leaf)
        return r.pick([
          () => r.pick(['true', 'false']),
          () =>
            `(${expr(r, 'record', 0)} has ${r.pick(['n', 'm', 'meta', 'tag', 'level', 'path'])})`,
          () => `(${expr(r, 'entity', 0)} has ${r.pick(['subject', 'roles', 'risk', 'x'])})`,
          () => `principal.roles.contains(${quote(r.pick(ROLES))})`,
        ])();
      const d = depth - 1;
      return r.pick([
        () => `(${expr(r, 'long', d)} ${r.pick(['<', '<=', '>', '>='])} ${expr(r, 'long', d)})`,
        () => {
          const t = r.pick(TYPES);
          return `(${expr(r, t, d)} ${r.pick(['==', '!='])} ${expr(r, r.chance(0.7) ? t : r.pick(TYPES), d)})`;
        },
        () => `(${expr(r, 'bool', d)} ${r.pick(['&&', '||'])} ${expr(r, 'bool', d)})`,
        () => `(!${expr(r, 'bool', d)})`,
        () =>
          `(${expr(r, 'string', d)} like ${quote(r.pick(['*', 'src/*', '*.md', 'doc-*', 'a\\*b', '*a*', '', 'ñ*', '*😀*']))})`,
        () => `(${expr(r, 'record', d)} has ${r.pick(['n', 'm', 'meta', 'tag', 'path', 'a'])})`,
        () => `(${expr(r, 'entity', d)} has ${r.pick(['subject', 'roles', 'risk', 'x'])})`,
        () => `(${expr(r, 'entity', d)} in ${expr(r, 'entity', d)})`,
        () => `(${expr(r, 'entity', d)} in [${expr(r, 'entity', d)}, ${expr(r, 'entity', d)}])`,
        () => `${expr(r, 'set', d)}.contains(${expr(r, r.pick(TYPES), d)})`,
        () =>
          `${expr(r, 'set', d)}.${r.pick(['containsAll', 'containsAny'])}(${expr(r, 'set', d)})`,
        () => `${expr(r, 'set', d)}.isEmpty()`,
        () => `(${expr(r, 'entity', d)} is ${r.pick(['User', 'Tool', 'Action'])})`,
        () => `(${expr(r, 'entity', d)} is ${r.pick(['User', 'Tool'])} in ${expr(r, 'entity', d)})`,
        () => `(if ${expr(r, 'bool', d)} then ${expr(r, 'bool', d)} else ${expr(r, 'bool', d)})`,
      ])();
    }
  }
}

function policy(r: Rng, id: string): string {
  const principal = r.pick([
    'principal',
    'principal',
    'principal == User::"alice"',
    'principal in User::"bob"',
    'principal is User',
    'principal is Tool',
    'principal is User in User::"alice"',
  ]);
  const action = r.pick([
    'action',
    'action',
    'action == Action::"call:t1"',
    'action == Action::"approve:t2"',
    'action in Action::"call"',
    'action in Action::"approve"',
    'action in [Action::"approve", Action::"call:t2"]',
  ]);
  const resource = r.pick(['resource', 'resource', 'resource == Tool::"t1"', 'resource is Tool']);
  const conditions = Array.from(
    { length: r.int(3) },
    () => ` ${r.pick(['when', 'unless'])} { ${expr(r, 'bool', 3)} }`,
  ).join('');
  // Rarely, something outside the JavaScript subset: the set must go to cedar-wasm, same answers.
  const outside = r.chance(0.03) ? ' when { decimal("1.0").lessThan(decimal("2.5")) }' : '';
  const effect = r.chance(0.6) ? 'permit' : 'forbid';
  return `@id("${id}") ${effect}(${principal}, ${action}, ${resource})${conditions}${outside};`;
}

function input(r: Rng): ConditionInput {
  const args: Record<string, unknown> = {
    path: r.pick(STRINGS),
    n: r.chance(0.9) ? r.pick(LONGS) : r.pick(['5', 1.5, true]), // off-schema values are dropped
  };
  if (r.chance(0.5)) args.m = r.pick(LONGS);
  if (r.chance(0.5)) args.tags = Array.from({ length: r.int(3) }, () => r.pick(ROLES));
  if (r.chance(0.5))
    args.meta = r.chance(0.5) ? { tag: r.pick(STRINGS), level: r.pick(LONGS) } : {};
  if (r.chance(0.1)) args.extra = 'not in the schema';
  const action = r.pick(['call', 'approve'] as const);
  return {
    action,
    manifest: r.pick(TOOLS),
    sub: r.pick(['alice', 'bob', 'carol']),
    roles: Array.from({ length: r.int(3) }, () => r.pick(ROLES)),
    tenant: r.pick(['t1', 't2']),
    ...(action === 'approve' ? { requester: r.pick(['alice', 'bob']) } : {}),
    args,
    rendered: r.chance(0.5) ? ['repo:write'] : [],
    ...(r.chance(0.7) ? { session: r.pick(['s1', 'quarantined']) } : {}),
    nowMs: Date.UTC(2026, 0, 1, r.int(24)),
  };
}

it('gives cedar-wasm’s decision, reasons and errors on generated policies and requests', () => {
  const r = rng(20261127);
  const seen = { allow: 0, deny: 0, error: 0, compiled: 0, sets: 0, requests: 0 };
  for (let s = 0; s < 250; s++) {
    const texts = Array.from({ length: 1 + r.int(5) }, (_, i) => policy(r, `p${s}-${i}`));
    const text = texts.join('\n');
    const parts = cedar().policySetTextToParts(text);
    if (parts.type !== 'success') throw new Error(`${text}: does not parse`);
    const engine = ConditionEngine.fromText(text, 'generated.cedar');
    const policies = Object.fromEntries(parts.policies.map((p, i) => [engine.ids[i]!, p]));
    const json = parts.policies.map((p, i) => {
      const j = cedar().policyToJson(p);
      return { id: engine.ids[i]!, json: j.type === 'success' ? (j.json as never) : undefined };
    });
    const js = JsPolicySet.compile(json);
    seen.sets++;
    if (js) seen.compiled++;
    for (let q = 0; q < 12; q++) {
      const req = input(r);
      const want = referenceDecision(req, policies);
      const where = `${text}\n${JSON.stringify(req)}`;
      if (js) {
        // The evaluator alone, on the whole policy set (no per-action filtering).
        const m = req.manifest;
        const facts = toolFacts(m, cedarTypeOf(m.inputSchema)!);
        const got = js.authorize(jsRequest(req, facts)!);
        expect(got, where).toBeDefined();
        expect(outcomeOf(got!), where).toEqual(want);
      }
      // And through the engine, as the broker calls it.
      expect(outcomeOf(engine.evaluate(req)), where).toEqual(want);
      seen.requests++;
      if (want.errorIds.length > 0) seen.error++;
      else if (want.allowed) seen.allow++;
      else seen.deny++;
    }
  }
  // The generator reaches every outcome often, and most sets stay inside the subset.
  expect(seen.allow).toBeGreaterThan(200);
  expect(seen.deny).toBeGreaterThan(200);
  expect(seen.error).toBeGreaterThan(200);
  expect(seen.compiled).toBeGreaterThan(seen.sets * 0.8);
});

it('leaves a request with a lone surrogate to cedar-wasm, which refuses it (fail closed)', () => {
  const engine = ConditionEngine.fromText(
    '@id("all") permit(principal, action, resource) when { context.args.path like "a*" };',
    'test.cedar',
  );
  const v = engine.evaluate({
    manifest: TOOLS[0]!,
    sub: 'alice',
    roles: [],
    tenant: 't1',
    args: { path: 'a\ud800', n: 1 },
    rendered: [],
    nowMs: 0,
  });
  expect(v.allowed).toBe(false);
  expect(v.errors).toHaveLength(1);
});

// Edges of Long arithmetic chosen by hand: i64 overflow is a Cedar error (the policy errors, the
// call is denied), a result beyond 2^53 but inside i64 is exact, and -0 does not exist.
const EDGES = [
  'context.args.n * context.args.n > 0',
  'context.args.n * context.args.n * context.args.n > 0',
  '(context.args.n * 1024) * 1024 == 9223372036854775807 - 9223372036854775807 + context.args.n * 1048576',
  'context.args.n * 1024 > 9007199254740991',
  '(context.args.n * 1024 + 1) - 1 == context.args.n * 1024',
  '(0 - context.args.n - 9007199254740991) * 1024 < 0',
  '-(context.args.n * 1023) - 9223372036854775807 < 0',
  '9007199254740991 + 9007199254740991 + context.args.n > 18014398509481982',
  '0 * -5 == 0 && -(0) == 0',
  '4611686018427387904 * 2 > 0',
  '(context.args.n * 1048576) * 1048576 * 1048576 > 0',
];

it('agrees with cedar-wasm on Long overflow and the range between 2^53 and 2^63', () => {
  const policies = Object.fromEntries(
    EDGES.map((c, i) => [`e${i}`, `permit(principal, action, resource) when { ${c} };`]),
  );
  const text = Object.entries(policies)
    .map(([id, p]) => `@id("${id}") ${p}`)
    .join('\n');
  const engine = ConditionEngine.fromText(text, 'edges.cedar');
  let errors = 0;
  for (const n of [0, 1, -1, 3037000499, 3037000500, 2 ** 43, 2 ** 44, MAX, -MAX, 2 ** 52]) {
    const req: ConditionInput = {
      manifest: TOOLS[0]!,
      sub: 'alice',
      roles: [],
      tenant: 't1',
      args: { path: 'x', n },
      rendered: [],
      nowMs: 0,
    };
    for (const [id, p] of Object.entries(policies)) {
      const one = ConditionEngine.fromText(`@id("${id}") ${p}`, 'edge.cedar');
      const want = referenceDecision(req, { [id]: p });
      expect(outcomeOf(one.evaluate(req)), `${p} n=${n}`).toEqual(want);
      errors += want.errorIds.length;
    }
    expect(outcomeOf(engine.evaluate(req))).toEqual(referenceDecision(req, policies));
  }
  expect(errors).toBeGreaterThan(20);
});

it('agrees with cedar-wasm on long sets (hashed membership), mixed element types included', () => {
  const r = rng(7);
  const long = (n: number) => Array.from({ length: n }, (_, i) => quote(`t${i}`)).join(', ');
  const mixed = `[1, "t3", User::"alice", [1, 2], {a: 1}, true, ${long(20)}]`;
  const conditions = [
    'context.args.tags.containsAll(["admin", "approver"])',
    'context.args.tags.containsAny(principal.roles)',
    'principal.roles.containsAll(context.args.tags)',
    `context.args.tags == [${long(20)}]`,
    `${mixed}.containsAny(context.args.tags)`,
    `${mixed}.containsAll(context.args.tags)`,
    `context.args.tags.containsAll(${mixed})`,
    `${mixed}.contains({a: 1}) && ${mixed}.contains([2, 1]) && !${mixed}.contains([2])`,
    `[${long(20)}, User::"bob"].contains(principal)`,
  ];
  const policies = Object.fromEntries(
    conditions.map((c, i) => [`s${i}`, `permit(principal, action, resource) when { ${c} };`]),
  );
  const text = Object.entries(policies)
    .map(([id, p]) => `@id("${id}") ${p}`)
    .join('\n');
  const engine = ConditionEngine.fromText(text, 'sets.cedar');
  const allows = new Set<string>();
  for (let q = 0; q < 150; q++) {
    const n = r.pick([0, 2, 15, 16, 17, 20, 40]);
    const pool = [...ROLES, ...Array.from({ length: 25 }, (_, i) => `t${i}`)];
    const tags = r.chance(0.2)
      ? Array.from({ length: 20 }, (_, i) => `t${19 - i}`) // the literal set, reordered
      : Array.from({ length: n }, () => r.pick(pool));
    const req: ConditionInput = {
      manifest: TOOLS[0]!,
      sub: r.pick(['alice', 'bob']),
      roles: Array.from({ length: r.pick([1, 3, 20]) }, () => r.pick(pool)),
      tenant: 't1',
      args: { path: 'x', n: 1, tags },
      rendered: [],
      nowMs: 0,
    };
    for (const [id, p] of Object.entries(policies)) {
      const one = ConditionEngine.fromText(`@id("${id}") ${p}`, 'set.cedar');
      const want = referenceDecision(req, { [id]: p });
      expect(outcomeOf(one.evaluate(req)), `${p} ${JSON.stringify(req)}`).toEqual(want);
      if (want.allowed) allows.add(id);
    }
    expect(outcomeOf(engine.evaluate(req))).toEqual(referenceDecision(req, policies));
  }
  expect(allows.size).toBeGreaterThanOrEqual(7);
});
