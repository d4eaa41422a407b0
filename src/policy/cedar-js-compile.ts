import {
  arith,
  CedarEvalError,
  contains,
  equal,
  isLong,
  isRecord,
  isSet,
  like,
  membership,
  negate,
  typeError,
  Uid,
  type Value,
} from './cedar-js-values.ts';

/**
 * Compiles a policy in Cedar's JSON form (EST) to a JavaScript closure, for
 * the subset of Cedar toolcage's policies use. Anything outside it (extension
 * functions, tags, templates' slots, a Long literal the JSON form may have
 * rounded, any node not named below) makes `compilePolicy` return undefined,
 * and the caller then leaves the whole policy set to cedar-wasm.
 *
 * Each operator follows Cedar's evaluator (cedar-policy-core `evaluator.rs`):
 * operands evaluated left to right; `&&`, `||` and if-then-else short-circuit
 * and demand a Boolean; a wrong operand type, a missing attribute, an
 * attribute of an entity not in the request, or Long overflow is an error
 * (thrown as `CedarEvalError`); `==` never errors and is false across types;
 * `has` on an entity not in the request is false.
 */
export interface Env {
  principal: Uid;
  action: Uid;
  resource: Uid;
  context: { [k: string]: Value };
  /** The attributes of an entity the request holds; undefined for any other entity. */
  attrs(uid: Uid): { [k: string]: Value } | undefined;
  /** Cedar's `in`: `uid` is `ancestor` or a descendant of it. */
  within(uid: Uid, ancestor: Uid): boolean;
}

type Fn = (env: Env) => Value;

export interface CompiledPolicy {
  id: string;
  effect: 'permit' | 'forbid';
  /** Whether the policy is satisfied; throws `CedarEvalError` when it errors. */
  satisfied(env: Env): boolean;
}

class Unsupported extends Error {}

type Node = Record<string, unknown>;

const unsupported = (what: string): never => {
  throw new Unsupported(what);
};

const str = (v: unknown): string => (typeof v === 'string' ? v : unsupported('name'));

function uidOf(v: unknown): Uid {
  const e = v as { type?: unknown; id?: unknown } | null;
  if (!e || typeof e !== 'object' || Object.keys(e).length !== 2) return unsupported('entity');
  return new Uid(str(e.type), str(e.id));
}

/** A literal (`Value` node): only what the JSON form carries exactly. */
function literal(v: unknown): Value {
  if (typeof v === 'boolean' || typeof v === 'string') return v;
  // Cedar Longs beyond 2^53 reach JavaScript rounded: such a policy stays with cedar-wasm.
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : unsupported('long');
  if (Array.isArray(v)) return v.map(literal);
  if (v && typeof v === 'object') {
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === '__entity') return uidOf((v as Node).__entity);
    const out: { [k: string]: Value } = Object.create(null) as { [k: string]: Value };
    for (const k of keys) {
      if (k.startsWith('__')) unsupported('escape');
      out[k] = literal((v as Node)[k]);
    }
    return out;
  }
  return unsupported('literal');
}

function asBool(v: Value): boolean {
  if (typeof v !== 'boolean') throw typeError('bool', v);
  return v;
}
function asSet(v: Value): Value[] {
  if (!isSet(v)) throw typeError('set', v);
  return v;
}
function asUid(v: Value): Uid {
  if (!(v instanceof Uid)) throw typeError('(entity of type `any_entity_type`)', v);
  return v;
}
function asLong(v: Value): number | bigint {
  if (!isLong(v)) throw typeError('long', v);
  return v;
}

function attrOf(env: Env, v: Value, attr: string): Value {
  if (v instanceof Uid) {
    const attrs = env.attrs(v);
    if (!attrs) throw new CedarEvalError(`entity \`${v.type}::"${v.id}"\` does not exist`);
    if (!Object.hasOwn(attrs, attr))
      throw new CedarEvalError(`\`${v.type}::"${v.id}"\` does not have the attribute \`${attr}\``);
    return attrs[attr]!;
  }
  if (isRecord(v)) {
    if (!Object.hasOwn(v, attr))
      throw new CedarEvalError(`record does not have the attribute \`${attr}\``);
    return v[attr]!;
  }
  throw typeError('one of [record, (entity of type `any_entity_type`)]', v);
}

function hasAttr(env: Env, v: Value, attr: string): boolean {
  if (v instanceof Uid) {
    const attrs = env.attrs(v);
    return attrs !== undefined && Object.hasOwn(attrs, attr);
  }
  if (isRecord(v)) return Object.hasOwn(v, attr);
  throw typeError('one of [record, (entity of type `any_entity_type`)]', v);
}

function within(env: Env, left: Value, right: Value): boolean {
  const uid = asUid(left);
  if (right instanceof Uid) return env.within(uid, right);
  if (!isSet(right)) throw typeError('one of [set, (entity of type `any_entity_type`)]', right);
  const targets = right.map(asUid); // every element must be an entity, as in Cedar
  return targets.some((t) => env.within(uid, t));
}

function pair(n: Node, op: string): [Fn, Fn] {
  const d = n[op] as { left?: unknown; right?: unknown };
  return [compileExpr(d.left), compileExpr(d.right)];
}

const CMP: Record<string, (a: number | bigint, b: number | bigint) => boolean> = {
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};

export function compileExpr(expr: unknown): Fn {
  if (!expr || typeof expr !== 'object' || Array.isArray(expr)) return unsupported('node');
  const n = expr as Node;
  const keys = Object.keys(n);
  if (keys.length !== 1) return unsupported('node');
  const op = keys[0]!;
  switch (op) {
    case 'Value': {
      const v = literal(n.Value);
      return () => v;
    }
    case 'Var':
      switch (n.Var) {
        case 'principal':
          return (env) => env.principal;
        case 'action':
          return (env) => env.action;
        case 'resource':
          return (env) => env.resource;
        case 'context':
          return (env) => env.context;
      }
      return unsupported('var');
    case '!': {
      const a = compileExpr((n[op] as Node).arg);
      return (env) => !asBool(a(env));
    }
    case 'neg': {
      const a = compileExpr((n[op] as Node).arg);
      return (env) => negate(a(env));
    }
    case 'isEmpty': {
      const a = compileExpr((n[op] as Node).arg);
      return (env) => asSet(a(env)).length === 0;
    }
    case '==': {
      const [l, r] = pair(n, op);
      return (env) => equal(l(env), r(env));
    }
    case '!=': {
      const [l, r] = pair(n, op);
      return (env) => !equal(l(env), r(env));
    }
    case '<':
    case '<=':
    case '>':
    case '>=': {
      const [l, r] = pair(n, op);
      const cmp = CMP[op]!;
      return (env) => {
        const a = l(env);
        const b = r(env);
        return cmp(asLong(a), asLong(b));
      };
    }
    case '+':
    case '-':
    case '*': {
      const [l, r] = pair(n, op);
      return (env) => {
        const a = l(env);
        return arith(op, a, r(env));
      };
    }
    case '&&': {
      const [l, r] = pair(n, op);
      return (env) => asBool(l(env)) && asBool(r(env));
    }
    case '||': {
      const [l, r] = pair(n, op);
      return (env) => asBool(l(env)) || asBool(r(env));
    }
    case 'in': {
      const [l, r] = pair(n, op);
      return (env) => {
        const a = l(env);
        return within(env, a, r(env));
      };
    }
    case 'contains': {
      const [l, r] = pair(n, op);
      return (env) => {
        const set = asSet(l(env));
        return contains(set, r(env));
      };
    }
    case 'containsAll':
    case 'containsAny': {
      const [l, r] = pair(n, op);
      const all = op === 'containsAll';
      return (env) => {
        const a = asSet(l(env));
        const b = asSet(r(env));
        const inA = membership(a);
        return all ? b.every(inA) : b.some(inA);
      };
    }
    case '.':
    case 'has': {
      const d = n[op] as { left?: unknown; attr?: unknown };
      const l = compileExpr(d.left);
      const attr = str(d.attr);
      return op === '.' ? (env) => attrOf(env, l(env), attr) : (env) => hasAttr(env, l(env), attr);
    }
    case 'like': {
      const d = n[op] as { left?: unknown; pattern?: unknown };
      const l = compileExpr(d.left);
      if (!Array.isArray(d.pattern)) return unsupported('pattern');
      const pattern: Array<string | null> = [];
      for (const el of d.pattern) {
        if (el === 'Wildcard') pattern.push(null);
        else {
          const lit = str((el as Node | null)?.Literal);
          for (let i = 0; i < lit.length; i++) pattern.push(lit[i]!); // code units
        }
      }
      return (env) => {
        const v = l(env);
        if (typeof v !== 'string') throw typeError('string', v);
        return like(v, pattern);
      };
    }
    case 'is': {
      const d = n[op] as { left?: unknown; entity_type?: unknown; in?: unknown };
      const l = compileExpr(d.left);
      const type = str(d.entity_type);
      const inner = d.in === undefined ? undefined : compileExpr(d.in);
      return (env) => {
        const v = l(env);
        const ok = asUid(v).type === type;
        return ok && inner ? within(env, v, inner(env)) : ok;
      };
    }
    case 'if-then-else': {
      const d = n[op] as { if?: unknown; then?: unknown; else?: unknown };
      const c = compileExpr(d.if);
      const t = compileExpr(d.then);
      const e = compileExpr(d.else);
      return (env) => (asBool(c(env)) ? t(env) : e(env));
    }
    case 'Set': {
      if (!Array.isArray(n.Set)) return unsupported('set');
      const items = n.Set.map(compileExpr);
      return (env) => items.map((f) => f(env));
    }
    case 'Record': {
      const rec = n.Record as Node | null;
      if (!rec || typeof rec !== 'object' || Array.isArray(rec)) return unsupported('record');
      const fields = Object.entries(rec).map(([k, v]) => {
        if (k.startsWith('__')) unsupported('escape');
        return [k, compileExpr(v)] as const;
      });
      return (env) => {
        const out = Object.create(null) as { [k: string]: Value };
        for (const [k, f] of fields) out[k] = f(env);
        return out;
      };
    }
    default:
      return unsupported(op);
  }
}

/** A scope constraint (`principal`, `action` or `resource` in the policy head). */
function compileScope(scope: unknown, variable: 'principal' | 'action' | 'resource'): Fn {
  const s = scope as { op?: unknown; entity?: unknown; entities?: unknown; entity_type?: unknown };
  const of = (env: Env) => env[variable];
  if (!s || typeof s !== 'object') return unsupported('scope');
  if ('slot' in s) return unsupported('slot');
  switch (s.op) {
    case 'All':
      return () => true;
    case '==': {
      const u = uidOf(s.entity);
      return (env) => equal(of(env), u);
    }
    case 'in': {
      if (variable === 'action' && Array.isArray(s.entities)) {
        const us = s.entities.map(uidOf);
        return (env) => us.some((u) => env.within(of(env), u));
      }
      const u = uidOf(s.entity);
      return (env) => env.within(of(env), u);
    }
    case 'is': {
      if (variable === 'action') return unsupported('scope');
      const type = str(s.entity_type);
      const inner = (s as { in?: { entity?: unknown } }).in;
      const u = inner === undefined ? undefined : uidOf(inner.entity);
      return (env) => of(env).type === type && (!u || env.within(of(env), u));
    }
    default:
      return unsupported('scope');
  }
}

/** The policy as a closure, or undefined when any part of it is outside the subset. */
export function compilePolicy(id: string, policy: Node): CompiledPolicy | undefined {
  try {
    const effect = policy.effect;
    if (effect !== 'permit' && effect !== 'forbid') return undefined;
    const heads = [
      compileScope(policy.principal, 'principal'),
      compileScope(policy.action, 'action'),
      compileScope(policy.resource, 'resource'),
    ];
    const conditions = ((policy.conditions ?? []) as Array<{ kind?: unknown; body?: unknown }>).map(
      (c) => {
        const body = compileExpr(c.body);
        if (c.kind === 'when') return (env: Env) => asBool(body(env));
        if (c.kind === 'unless') return (env: Env) => !asBool(body(env));
        return unsupported('condition');
      },
    );
    const parts = [...heads, ...conditions];
    return {
      id,
      effect,
      satisfied: (env) => {
        for (const p of parts) if (!p(env)) return false;
        return true;
      },
    };
  } catch (e) {
    if (e instanceof Unsupported) return undefined;
    throw e;
  }
}
