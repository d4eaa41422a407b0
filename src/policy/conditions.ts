import { createHash } from 'node:crypto';
import { ToolcageError } from '../errors/toolcage-error.ts';
import type { ToolManifest as Manifest } from '../ports/tool.ts';
import { cedar } from './cedar-module.ts';
import {
  callAction,
  cedarTypeOf,
  generateSchema,
  project,
  type CedarType,
} from './cedar-schema.ts';

export interface ConditionInput {
  manifest: Manifest;
  sub: string;
  roles: readonly string[];
  tenant: string;
  /** Validated against the tool's input schema by the caller. */
  args: unknown;
  rendered: readonly string[];
  session?: string | undefined;
  nowMs: number;
}

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

let seq = 0;

/**
 * Conditions in Cedar, beside the YAML policy: a call is allowed when the
 * YAML roles allow it AND Cedar says Allow (deny by default: no permit, no
 * claim; any forbid wins; any evaluation error denies). Policies are named
 * by their `@id("...")` annotation, else `policy<N>` by position.
 */
export class ConditionEngine {
  readonly text: string;
  readonly hash: string;
  readonly ids: readonly string[];
  readonly #preparsed: string;
  readonly #argTypes = new WeakMap<Manifest, CedarType>();

  private constructor(text: string, policies: Record<string, string>) {
    this.text = text;
    this.hash = createHash('sha256').update(text).digest('hex');
    this.ids = Object.keys(policies);
    this.#preparsed = `toolcage-${++seq}-${this.hash.slice(0, 16)}`;
    const r = cedar().preparsePolicySet(this.#preparsed, { staticPolicies: policies });
    if (r.type !== 'success')
      throw new ToolcageError('config_invalid', {
        message: `Cedar policies: ${r.errors.map((e) => e.message).join('; ')}`,
      });
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
    const policies: Record<string, string> = {};
    parts.policies.forEach((p, i) => {
      const json = c.policyToJson(p);
      const id =
        json.type === 'success' && typeof json.json.annotations?.id === 'string'
          ? json.json.annotations.id
          : `policy${i}`;
      if (Object.hasOwn(policies, id))
        throw new ToolcageError('config_invalid', {
          message: `${where}: two policies have the id "${id}"; give each a unique @id("...").`,
        });
      policies[id] = p;
    });
    return new ConditionEngine(text, policies);
  }

  /** Type-checks every policy against the schema generated from these manifests. */
  check(manifests: readonly Manifest[]): PolicyProblem[] {
    const policies: Record<string, string> = {};
    const parts = cedar().policySetTextToParts(this.text);
    if (parts.type !== 'success') return [{ policyId: '*', message: 'does not parse' }];
    parts.policies.forEach((p, i) => (policies[this.ids[i]!] = p));
    const r = cedar().validate({
      schema: generateSchema(manifests).json as never,
      policies: { staticPolicies: policies },
      validationSettings: { mode: 'strict' },
    });
    if (r.type !== 'success') return r.errors.map((e) => ({ policyId: '*', message: e.message }));
    return r.validationErrors.map((e) => ({
      policyId: e.policyId,
      message: e.error.message + (e.error.help ? ` (${e.error.help})` : ''),
    }));
  }

  evaluate(input: ConditionInput): ConditionVerdict {
    const m = input.manifest;
    let argType = this.#argTypes.get(m);
    if (!argType) {
      argType = cedarTypeOf(m.inputSchema) ?? { type: 'Record', attributes: {} };
      this.#argTypes.set(m, argType);
    }
    const now = new Date(input.nowMs);
    let answer: ReturnType<ReturnType<typeof cedar>['statefulIsAuthorized']>;
    try {
      answer = cedar().statefulIsAuthorized({
        principal: { type: 'User', id: input.sub },
        action: { type: 'Action', id: callAction(m.id) },
        resource: { type: 'Tool', id: m.id },
        context: {
          args: (project(argType, input.args) ?? {}) as never,
          scopes: [...input.rendered],
          session: input.session ?? '',
          now: Math.floor(input.nowMs / 1000),
          hourUtc: now.getUTCHours(),
          weekdayUtc: now.getUTCDay(),
        },
        entities: [
          // Without a schema at evaluation the action group must be given as an entity.
          {
            uid: { type: 'Action', id: callAction(m.id) },
            attrs: {},
            parents: [{ type: 'Action', id: 'call' }],
          },
          {
            uid: { type: 'User', id: input.sub },
            attrs: { subject: input.sub, roles: [...input.roles], tenant: input.tenant },
            parents: [],
          },
          {
            uid: { type: 'Tool', id: m.id },
            attrs: {
              risk: m.risk,
              scopes: [...new Set([...m.scopes, ...m.credentials.flatMap((c) => c.scopes)])],
              lanes: m.credentials.map((c) => c.lane),
              egress: m.network === 'none' ? [] : m.network.egress.map((e) => e.host),
            },
            parents: [],
          },
        ],
        preparsedPolicySetId: this.#preparsed,
        validateRequest: false,
      });
    } catch (cause) {
      return { allowed: false, policyIds: [], errors: [{ policyId: '*', message: String(cause) }] };
    }
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
}
