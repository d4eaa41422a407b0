import type { ToolManifest as Manifest } from '../ports/tool.ts';

/**
 * The Cedar schema generated from the registry: two actions per tool,
 * `Action::"call:<tool id>"` (a member of the group `Action::"call"`) and
 * `Action::"approve:<tool id>"` (a member of `Action::"approve"`), whose
 * context types `args` by the tool's input schema. A policy naming a field
 * the tool does not have fails validation; a policy on the whole group must
 * test `context.args has field` first, as Cedar's strict validator demands.
 * An approve action's context also has `requester` (the subject who asked)
 * and `tenant` (the request's tenant).
 *
 * JSON Schema → Cedar: string → String, integer → Long, boolean → Boolean,
 * object with properties → Record, array with typed items → Set. Anything
 * else (non-integer numbers, unions, untyped values) is left out of the
 * context, so a policy that names it fails `toolcage policy check`.
 */
export type CedarType =
  | { type: 'String' | 'Long' | 'Boolean'; required?: boolean }
  | { type: 'Set'; element: CedarType; required?: boolean }
  | { type: 'Record'; attributes: Record<string, CedarType>; required?: boolean };

type JsonSchema = Record<string, unknown>;

/** A safe attribute name: never Cedar's `__entity`/`__extn` escapes. */
const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

export function cedarTypeOf(schema: JsonSchema | undefined): CedarType | undefined {
  if (!schema || typeof schema !== 'object') return undefined;
  switch (schema.type) {
    case 'string':
      return { type: 'String' };
    case 'integer':
      return { type: 'Long' };
    case 'boolean':
      return { type: 'Boolean' };
    case 'array': {
      const element = cedarTypeOf(schema.items as JsonSchema | undefined);
      return element ? { type: 'Set', element } : undefined;
    }
    case 'object': {
      const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
      const required = Array.isArray(schema.required) ? (schema.required as string[]) : [];
      const attributes: Record<string, CedarType> = {};
      for (const [k, v] of Object.entries(props)) {
        if (k.startsWith('__') || !NAME.test(k)) continue;
        const t = cedarTypeOf(v);
        if (t) attributes[k] = required.includes(k) ? t : { ...t, required: false };
      }
      return { type: 'Record', attributes };
    }
    default:
      return undefined;
  }
}

/** The Cedar value of `value` shaped by `type`: unknown keys and off-type values are dropped. */
export function project(type: CedarType, value: unknown): unknown {
  switch (type.type) {
    case 'String':
      return typeof value === 'string' ? value : undefined;
    case 'Long':
      return typeof value === 'number' && Number.isSafeInteger(value) ? value : undefined;
    case 'Boolean':
      return typeof value === 'boolean' ? value : undefined;
    case 'Set': {
      if (!Array.isArray(value)) return undefined;
      const out = value.map((v) => project(type.element, v));
      return out.includes(undefined) ? undefined : out;
    }
    case 'Record': {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
      const out: Record<string, unknown> = {};
      for (const [k, t] of Object.entries(type.attributes)) {
        if (!Object.hasOwn(value, k)) continue;
        const v = project(t, (value as Record<string, unknown>)[k]);
        if (v !== undefined) out[k] = v;
      }
      return out;
    }
  }
}

const STRING = { type: 'String' } as const;
const STRINGS = { type: 'Set', element: STRING } as const;
const LONG = { type: 'Long' } as const;

/** The two things a policy decides: calling a tool, and approving someone's call of it. */
export type CedarVerb = 'call' | 'approve';

export const callAction = (toolId: string): string => `call:${toolId}`;
export const approveAction = (toolId: string): string => `approve:${toolId}`;
export const actionOf = (verb: CedarVerb, toolId: string): string => `${verb}:${toolId}`;

export interface GeneratedSchema {
  /** Cedar JSON schema (empty namespace). */
  json: Record<string, unknown>;
  /** Per tool: the Cedar type of `context.args`. */
  argTypes: Map<string, CedarType>;
}

export function generateSchema(manifests: readonly Manifest[]): GeneratedSchema {
  const argTypes = new Map<string, CedarType>();
  const actions: Record<string, unknown> = { call: {}, approve: {} };
  for (const m of manifests) {
    const args = cedarTypeOf(m.inputSchema) ?? { type: 'Record', attributes: {} };
    argTypes.set(m.id, args);
    const context = {
      args,
      scopes: STRINGS,
      session: STRING,
      now: LONG,
      hourUtc: LONG,
      weekdayUtc: LONG,
    };
    const appliesTo = (attributes: Record<string, unknown>) => ({
      principalTypes: ['User'],
      resourceTypes: ['Tool'],
      context: { type: 'Record', attributes },
    });
    actions[callAction(m.id)] = { memberOf: [{ id: 'call' }], appliesTo: appliesTo(context) };
    actions[approveAction(m.id)] = {
      memberOf: [{ id: 'approve' }],
      appliesTo: appliesTo({ ...context, requester: STRING, tenant: STRING }),
    };
  }
  return {
    argTypes,
    json: {
      '': {
        entityTypes: {
          User: {
            shape: {
              type: 'Record',
              attributes: { subject: STRING, roles: STRINGS, tenant: STRING },
            },
          },
          Tool: {
            shape: {
              type: 'Record',
              attributes: { risk: STRING, scopes: STRINGS, lanes: STRINGS, egress: STRINGS },
            },
          },
        },
        actions,
      },
    },
  };
}
