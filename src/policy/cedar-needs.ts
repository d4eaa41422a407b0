/**
 * What a Cedar policy set can read, found once per policy set by walking
 * each policy's JSON form (Cedar's EST), so that a request carries only that.
 *
 * Why: cedar-wasm parses every entity attribute and context value of every
 * request from JSON, and that parse, not the evaluation, is most of a
 * decision's cost. A value no policy reads cannot change the decision, so
 * leaving it out is exact, not an approximation:
 *
 * - Cedar reads attributes only through `e.attr` and `e has attr` with a
 *   literal name (`e["attr"]` is the same node), so the attribute paths a
 *   policy set can reach are syntactic. A path rooted at `principal`,
 *   `resource` or `context` is recorded; its whole value is then kept.
 * - `context` used as a value (compared, put in a set) keeps the whole context.
 * - An attribute read on anything else (an entity literal, an if-then-else,
 *   a record literal) gives up: every attribute is sent, as without this.
 * - The action's parent (`Action::"call"`, `Action::"approve"`) is sent only
 *   when some policy uses `in` (the action scope or the condition).
 */
export type Paths = true | Map<string, Paths>;

export interface CedarNeeds {
  /** Send everything: some attribute read could not be traced. */
  all: boolean;
  /** Attribute paths by root variable (`principal`, `resource`, `context`). */
  roots: Map<string, Paths>;
  /** Some policy tests `in`: the action entity and its group must be sent. */
  actionParents: boolean;
}

type Node = Record<string, unknown>;

const ROOTS = new Set(['principal', 'resource', 'context']);

function add(into: Map<string, Paths>, path: readonly string[]): void {
  let at = into;
  for (let i = 0; i < path.length; i++) {
    const k = path[i]!;
    const cur = at.get(k);
    if (cur === true) return;
    if (i === path.length - 1) {
      at.set(k, true);
      return;
    }
    const next = cur ?? new Map<string, Paths>();
    at.set(k, next);
    at = next;
  }
}

/** `principal.a.b` → ['principal', 'a', 'b']; undefined when the chain does not start at a variable. */
function pathOf(expr: unknown): string[] | undefined {
  if (!expr || typeof expr !== 'object') return undefined;
  const n = expr as Node;
  if (typeof n.Var === 'string') return [n.Var];
  const dot = n['.'] as { left?: unknown; attr?: unknown } | undefined;
  if (dot && typeof dot.attr === 'string') {
    const left = pathOf(dot.left);
    return left ? [...left, dot.attr] : undefined;
  }
  return undefined;
}

export function emptyNeeds(): CedarNeeds {
  return { all: false, roots: new Map(), actionParents: false };
}

/** Adds what one policy (Cedar's JSON form) can read. */
export function addPolicyNeeds(needs: CedarNeeds, policy: Node): void {
  const action = policy.action as { op?: unknown } | undefined;
  if (action?.op === 'in') needs.actionParents = true;
  const visit = (expr: unknown): void => {
    if (needs.all || !expr || typeof expr !== 'object') return;
    if (Array.isArray(expr)) {
      for (const e of expr) visit(e);
      return;
    }
    const n = expr as Node;
    if ('Value' in n) return; // a literal: data, not expressions
    if (typeof n.Var === 'string') {
      if (n.Var === 'context') add(needs.roots, ['context']);
      return; // principal/resource/action as a value: compared by uid, no attribute read
    }
    if ('in' in n) needs.actionParents = true;
    for (const op of ['.', 'has'] as const) {
      const d = n[op] as { left?: unknown; attr?: unknown } | undefined;
      if (!d || typeof d.attr !== 'string') continue;
      const left = pathOf(d.left);
      if (!left || !ROOTS.has(left[0]!)) {
        needs.all = true; // an attribute of something we cannot name: send everything
        return;
      }
      add(needs.roots, [...left, d.attr]);
      return;
    }
    if (n.Record && typeof n.Record === 'object') {
      for (const v of Object.values(n.Record as Node)) visit(v);
      return;
    }
    for (const v of Object.values(n)) visit(v);
  };
  for (const c of (policy.conditions ?? []) as Array<{ body?: unknown }>) visit(c.body);
}

/** The attributes of `attrs` the paths keep (all of them when `paths` is `true`). */
export function keep(
  attrs: Record<string, unknown>,
  paths: Paths | undefined,
): Record<string, unknown> {
  if (paths === true) return attrs;
  const out: Record<string, unknown> = {};
  if (!paths) return out;
  for (const [k, sub] of paths) {
    if (!Object.hasOwn(attrs, k)) continue;
    const v = attrs[k];
    out[k] =
      sub === true || v === null || typeof v !== 'object' || Array.isArray(v)
        ? v
        : keep(v as Record<string, unknown>, sub);
  }
  return out;
}

function isAction(e: unknown, id: string): boolean {
  const u = ((e as { __entity?: unknown } | null)?.__entity ?? e) as
    { type?: unknown; id?: unknown } | null | undefined;
  return u?.type === 'Action' && u.id === id;
}

/**
 * Whether a policy's action scope can match `Action::"<verb>:<tool>"`, whose
 * only parent is `Action::"<verb>"`. A policy whose scope cannot match never
 * applies (Cedar does not evaluate its conditions), so it is left out of that
 * action's policy set; an unknown scope shape is kept.
 */
export function mayApply(policy: Node, verb: string, actionId: string): boolean {
  const scope = policy.action as { op?: unknown; entity?: unknown; entities?: unknown } | undefined;
  switch (scope?.op) {
    case 'All':
      return true;
    case '==':
      return isAction(scope.entity, actionId);
    case 'in': {
      const targets = Array.isArray(scope.entities) ? scope.entities : [scope.entity];
      return targets.some((e) => isAction(e, actionId) || isAction(e, verb));
    }
    default:
      return true;
  }
}
