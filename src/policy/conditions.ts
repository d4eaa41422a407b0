import { createHash } from 'node:crypto';
import { ToolcageError } from '../errors/toolcage-error.ts';
import type { ToolManifest as Manifest } from '../ports/tool.ts';
import { cedar } from './cedar-module.ts';
import { addPolicyNeeds, emptyNeeds, mayApply, type CedarNeeds } from './cedar-needs.ts';
import { JsPolicySet } from './cedar-js.ts';
import {
  cedarRequest,
  jsRequest,
  toolFacts,
  type ConditionInput,
  type ToolFacts,
} from './cedar-request.ts';
import { actionOf, cedarTypeOf, generateSchema, type CedarVerb } from './cedar-schema.ts';

export type { ConditionInput } from './cedar-request.ts';

export interface ConditionVerdict {
  allowed: boolean;
  /** Cedar's reasons: the permit policies that allowed, or the forbid policies that denied. */
  policyIds: string[];
  /** Evaluation errors, by policy; any error denies (fail closed). */
  errors: Array<{ policyId: string; message: string }>;
}

export interface PolicyProblem {
  policyId: string;
  message: string;
}

interface ParsedPolicy {
  id: string;
  text: string;
  /** Cedar's JSON form (EST); undefined if it could not be had (then it applies everywhere, reads everything). */
  json: Record<string, unknown> | undefined;
}

/**
 * The policies that can apply to one action: compiled to JavaScript when all of
 * them are inside the subset cedar-js evaluates, and for cedar-wasm (preparsed
 * on first use) what they read and their preparsed set's id.
 */
interface ActionSet {
  js: JsPolicySet | undefined;
  policies: Record<string, string | Record<string, unknown>>;
  preparsed: string;
  needs: CedarNeeds;
}

/** Decisions remembered per engine, and the longest request remembered (bytes of JSON). */
const MEMO_ENTRIES = 4096;
const MEMO_KEY_MAX = 2048;

/** Preparsed ids in this process: cedar-wasm keeps them for its lifetime (it has no drop). */
const preparsedIds = new Set<string>();

/**
 * Whether every number in a policy's JSON form is exact. Cedar's Longs are i64;
 * one beyond 2^53 reaches JavaScript rounded, so that policy's JSON says
 * something else than its text: such a policy is used as text only.
 */
function exactJson(v: unknown): boolean {
  if (typeof v === 'number') return Number.isSafeInteger(v);
  if (Array.isArray(v)) return v.every(exactJson);
  if (v && typeof v === 'object') return Object.values(v).every(exactJson);
  return true;
}

function anyAction(policy: Record<string, unknown>): Record<string, unknown> {
  const op = (policy.action as { op?: unknown } | undefined)?.op;
  return op === '==' || op === 'in' ? { ...policy, action: { op: 'All' } } : policy;
}

function preparse(id: string, policies: Record<string, string | Record<string, unknown>>): void {
  if (preparsedIds.has(id)) return;
  const r = cedar().preparsePolicySet(id, { staticPolicies: policies as never });
  if (r.type !== 'success')
    throw new ToolcageError('config_invalid', {
      message: `Cedar policies: ${r.errors.map((e) => e.message).join('; ')}`,
    });
  preparsedIds.add(id);
}

/**
 * Conditions in Cedar, beside the YAML policy: a call (or an approval) is
 * allowed when the YAML roles allow it AND Cedar says Allow (deny by default:
 * no permit, no claim; any forbid wins; any evaluation error denies).
 * Policies are named by their `@id("...")` annotation, else `policy<N>` by position.
 *
 * Speed: each action (`call:<tool>`, `approve:<tool>`) is evaluated against
 * only the policies whose action scope can match it. When every one of them is
 * inside the subset of Cedar that cedar-js.ts evaluates, they are compiled to
 * JavaScript once and decide there (docs/policy.md: why that is Cedar's answer).
 * Otherwise, or for a request the evaluator leaves alone, cedar-wasm decides:
 * the set is preparsed once, the request holds only what those policies read
 * (cedar-needs.ts), and since a Cedar decision is a pure function of its
 * request (time is in the context; no entity store beyond what is sent), an
 * identical pruned request gets the remembered verdict.
 */
export class ConditionEngine {
  readonly text: string;
  readonly hash: string;
  readonly ids: readonly string[];
  readonly #policies: readonly ParsedPolicy[];
  readonly #actions = new Map<string, ActionSet | null>();
  /** Per manifest (a registry reload makes new ones). */
  readonly #tools = new WeakMap<Manifest, ToolFacts>();
  /** Pruned request (JSON) → verdict; insertion order is age, the oldest goes first. */
  readonly #memo = new Map<string, ConditionVerdict>();

  private constructor(text: string, policies: ParsedPolicy[]) {
    this.text = text;
    this.hash = createHash('sha256').update(text).digest('hex');
    this.ids = policies.map((p) => p.id);
    this.#policies = policies;
    // The whole set once, so that anything Cedar refuses is refused at load, not at a call.
    preparse(`toolcage-${this.hash}`, Object.fromEntries(policies.map((p) => [p.id, p.text])));
  }

  /** Parses a Cedar policy set; `config_invalid` naming the file on a syntax error or a duplicate id. */
  static fromText(text: string, where: string): ConditionEngine {
    const c = cedar();
    const parts = c.policySetTextToParts(text);
    if (parts.type !== 'success')
      throw new ToolcageError('config_invalid', {
        message: `${where}: ${parts.errors.map((e) => e.message).join('; ')}`,
      });
    if (parts.policy_templates.length > 0)
      throw new ToolcageError('config_invalid', {
        message: `${where}: policy templates (?principal, ?resource) are not supported; write static policies.`,
      });
    const seen = new Set<string>();
    const policies = parts.policies.map((p, i): ParsedPolicy => {
      const r = c.policyToJson(p);
      const full =
        r.type === 'success' ? (r.json as unknown as Record<string, unknown>) : undefined;
      const json = full && exactJson(full) ? full : undefined;
      const annotations = full?.annotations as Record<string, unknown> | undefined;
      const id = typeof annotations?.id === 'string' ? annotations.id : `policy${i}`;
      if (seen.has(id))
        throw new ToolcageError('config_invalid', {
          message: `${where}: two policies have the id "${id}"; give each a unique @id("...").`,
        });
      seen.add(id);
      return { id, text: p, json };
    });
    return new ConditionEngine(text, policies);
  }

  /** Type-checks every policy against the schema generated from these manifests. */
  check(manifests: readonly Manifest[]): PolicyProblem[] {
    const r = cedar().validate({
      schema: generateSchema(manifests).json as never,
      policies: {
        staticPolicies: Object.fromEntries(this.#policies.map((p) => [p.id, p.text])),
      },
      validationSettings: { mode: 'strict' },
    });
    if (r.type !== 'success') return r.errors.map((e) => ({ policyId: '*', message: e.message }));
    return r.validationErrors.map((e) => ({
      policyId: e.policyId,
      message: e.error.message + (e.error.help ? ` (${e.error.help})` : ''),
    }));
  }

  /** The policies that can apply to this action; null when none can (Cedar would deny). */
  #actionSet(verb: CedarVerb, toolId: string): ActionSet | null {
    const action = actionOf(verb, toolId);
    let set = this.#actions.get(action);
    if (set !== undefined) return set;
    const applying = this.#policies
      .filter((p) => !p.json || mayApply(p.json, verb, action))
      // An action scope that matched is true for every request of this set: it becomes
      // `action` (any), so the action's group need not be sent to decide it (exact, since this
      // set only ever sees this action, whose only parent is its verb's group).
      .map((p) => ({ id: p.id, policy: p.json ? anyAction(p.json) : p.text }));
    set = null;
    if (applying.length > 0) {
      const needs = emptyNeeds();
      for (const p of applying)
        if (typeof p.policy !== 'string') addPolicyNeeds(needs, p.policy);
        else needs.all = true;
      // Named by content: sets shared by many actions are preparsed once, and reloading the
      // same policies preparses nothing new (cedar-wasm cannot drop a preparsed set).
      const preparsed = `toolcage-${createHash('sha256')
        .update(`${this.hash}\n${applying.map((p) => p.id).join('\n')}`)
        .digest('hex')}`;
      set = {
        js: JsPolicySet.compile(
          this.#policies.filter((p) => !p.json || mayApply(p.json, verb, action)),
        ),
        policies: Object.fromEntries(applying.map((p) => [p.id, p.policy])),
        preparsed,
        needs,
      };
    }
    this.#actions.set(action, set);
    return set;
  }

  #tool(m: Manifest): ToolFacts {
    let t = this.#tools.get(m);
    if (!t) {
      t = toolFacts(m, cedarTypeOf(m.inputSchema) ?? { type: 'Record', attributes: {} });
      this.#tools.set(m, t);
    }
    return t;
  }

  evaluate(input: ConditionInput): ConditionVerdict {
    let verdict: ConditionVerdict;
    try {
      const set = this.#actionSet(input.action ?? 'call', input.manifest.id);
      // No policy can apply: Cedar's answer is Deny with no reasons; asking it changes nothing.
      if (!set) return { allowed: false, policyIds: [], errors: [] };
      const tool = this.#tool(input.manifest);
      if (set.js) {
        const r = jsRequest(input, tool);
        const v = r && set.js.authorize(r);
        if (v) return v;
      }
      preparse(set.preparsed, set.policies);
      const request = {
        ...cedarRequest(input, tool, set.needs),
        preparsedPolicySetId: set.preparsed,
        validateRequest: false,
      };
      const key = JSON.stringify(request);
      const known = this.#memo.get(key);
      if (known) return copy(known);
      verdict = verdictOf(cedar().statefulIsAuthorized(request as never));
      if (key.length <= MEMO_KEY_MAX) {
        if (this.#memo.size >= MEMO_ENTRIES) this.#memo.delete(this.#memo.keys().next().value!);
        this.#memo.set(key, copy(verdict));
      }
    } catch (cause) {
      return { allowed: false, policyIds: [], errors: [{ policyId: '*', message: String(cause) }] };
    }
    return verdict;
  }
}

function copy(v: ConditionVerdict): ConditionVerdict {
  return {
    allowed: v.allowed,
    policyIds: [...v.policyIds],
    errors: v.errors.map((e) => ({ ...e })),
  };
}

function verdictOf(
  answer: ReturnType<ReturnType<typeof cedar>['statefulIsAuthorized']>,
): ConditionVerdict {
  if (answer.type !== 'success')
    return {
      allowed: false,
      policyIds: [],
      errors: answer.errors.map((e) => ({ policyId: '*', message: e.message })),
    };
  const errors = answer.response.diagnostics.errors.map((e) => ({
    policyId: e.policyId,
    message: e.error.message,
  }));
  return {
    allowed: answer.response.decision === 'allow' && errors.length === 0,
    policyIds: [...answer.response.diagnostics.reason],
    errors,
  };
}
