import { compilePolicy, type CompiledPolicy, type Env } from './cedar-js-compile.ts';
import { CedarEvalError, equal, Uid, type Value } from './cedar-js-values.ts';

/**
 * Cedar's authorizer in JavaScript for one action's policy set, used by the
 * condition engine when every policy of the set compiles (cedar-js-compile.ts)
 * and otherwise never: the set then stays with cedar-wasm. docs/policy.md
 * gives the argument that its answers are cedar-wasm's, and
 * test/policy/cedar-js-differential.test.ts checks it against cedar-wasm.
 *
 * Why: cedar-wasm's cost per decision is mostly fixed (the request crosses into
 * WebAssembly as JSON and is parsed there), about the cost of a whole mint;
 * a closure walk over values already in memory is a few microseconds.
 */
export interface ConditionVerdictLike {
  allowed: boolean;
  policyIds: string[];
  errors: Array<{ policyId: string; message: string }>;
}

/** The request, as Cedar would receive it with every entity and attribute (nothing pruned). */
export interface JsRequest {
  principal: Uid;
  /** `Action::"<verb>:<tool>"`, whose one parent is `group`. */
  action: Uid;
  group: Uid;
  resource: Uid;
  principalAttrs: { [k: string]: Value };
  resourceAttrs: { [k: string]: Value };
  context: { [k: string]: Value };
}

const NO_ATTRS: { [k: string]: Value } = Object.freeze(Object.create(null) as object) as {
  [k: string]: Value;
};

class RequestEnv implements Env {
  readonly principal: Uid;
  readonly action: Uid;
  readonly resource: Uid;
  readonly context: { [k: string]: Value };
  readonly #r: JsRequest;

  constructor(r: JsRequest) {
    this.#r = r;
    this.principal = r.principal;
    this.action = r.action;
    this.resource = r.resource;
    this.context = r.context;
  }

  attrs(uid: Uid): { [k: string]: Value } | undefined {
    const r = this.#r;
    if (equal(uid, r.principal)) return r.principalAttrs;
    if (equal(uid, r.resource)) return r.resourceAttrs;
    if (equal(uid, r.action)) return NO_ATTRS;
    return undefined;
  }

  within(uid: Uid, ancestor: Uid): boolean {
    if (equal(uid, ancestor)) return true;
    return equal(uid, this.#r.action) && equal(ancestor, this.#r.group);
  }
}

export class JsPolicySet {
  readonly #policies: readonly CompiledPolicy[];

  private constructor(policies: CompiledPolicy[]) {
    this.#policies = policies;
  }

  /** The set compiled, or undefined when any policy is outside the subset (or has no JSON form). */
  static compile(
    policies: ReadonlyArray<{ id: string; json: Record<string, unknown> | undefined }>,
  ): JsPolicySet | undefined {
    const out: CompiledPolicy[] = [];
    for (const p of policies) {
      const c = p.json ? compilePolicy(p.id, p.json) : undefined;
      if (!c) return undefined;
      out.push(c);
    }
    return new JsPolicySet(out);
  }

  /**
   * Cedar's decision: Deny if a forbid is satisfied (its ids the reasons), else
   * Allow if a permit is (its ids), else Deny with none. A policy that errors is
   * skipped for the decision and reported; toolcage then denies (fail closed),
   * as the cedar-wasm path does. Undefined when the evaluator met something it
   * does not model (a JavaScript error, not a Cedar one): the caller asks cedar-wasm.
   */
  authorize(request: JsRequest): ConditionVerdictLike | undefined {
    const env = new RequestEnv(request);
    const permits: string[] = [];
    const forbids: string[] = [];
    const errors: Array<{ policyId: string; message: string }> = [];
    for (const p of this.#policies) {
      let ok: boolean;
      try {
        ok = p.satisfied(env);
      } catch (e) {
        if (!(e instanceof CedarEvalError)) return undefined;
        errors.push({ policyId: p.id, message: e.message });
        continue;
      }
      if (ok) (p.effect === 'forbid' ? forbids : permits).push(p.id);
    }
    const allow = forbids.length === 0 && permits.length > 0;
    return {
      allowed: allow && errors.length === 0,
      policyIds: forbids.length > 0 ? forbids : permits,
      errors,
    };
  }
}

/** ES2024's String#isWellFormed (Node 20+), which the project's TypeScript lib predates. */
const wf = (s: string): boolean => (s as string & { isWellFormed(): boolean }).isWellFormed();

/** Whether every string in `v` is well-formed UTF-16 (cedar-wasm refuses a lone surrogate). */
export function wellFormed(v: unknown): boolean {
  if (typeof v === 'string') return wf(v);
  if (Array.isArray(v)) return v.every(wellFormed);
  if (v instanceof Uid) return wf(v.type) && wf(v.id);
  if (v && typeof v === 'object') {
    for (const k in v) if (!wf(k) || !wellFormed((v as Record<string, unknown>)[k])) return false;
  }
  return true;
}
