// The reference every fast path is held to: cedar-wasm's own stateless `isAuthorized`, given the
// whole request (every entity, every attribute, the action's group) and the whole policy set.
import { cedar } from '../../src/policy/cedar-module.ts';
import { actionOf, cedarTypeOf, project } from '../../src/policy/cedar-schema.ts';
import type { ConditionInput } from '../../src/policy/conditions.ts';

export interface Outcome {
  allowed: boolean;
  policyIds: string[];
  errorIds: string[];
}

/** Sorted ids, for comparing answers whose order Cedar does not fix. */
export function outcomeOf(v: {
  allowed: boolean;
  policyIds: string[];
  errors: Array<{ policyId: string }>;
}): Outcome {
  return {
    allowed: v.allowed,
    policyIds: [...v.policyIds].sort(),
    errorIds: v.errors.map((e) => e.policyId).sort(),
  };
}

/** The tool's attributes as the engine derives them (toolFacts) for a manifest with no credentials. */
export function referenceDecision(
  input: ConditionInput,
  policies: Record<string, string>,
): Outcome {
  const verb = input.action ?? 'call';
  const m = input.manifest;
  const now = new Date(input.nowMs);
  const r = cedar().isAuthorized({
    principal: { type: 'User', id: input.sub },
    action: { type: 'Action', id: actionOf(verb, m.id) },
    resource: { type: 'Tool', id: m.id },
    context: {
      // The arguments as Cedar sees them: typed by the input schema, off-schema values dropped.
      args: (project(cedarTypeOf(m.inputSchema)!, input.args) ?? {}) as never,
      scopes: [...input.rendered],
      session: input.session ?? '',
      now: Math.floor(input.nowMs / 1000),
      hourUtc: now.getUTCHours(),
      weekdayUtc: now.getUTCDay(),
      ...(verb === 'approve' ? { requester: input.requester ?? '', tenant: input.tenant } : {}),
    },
    entities: [
      {
        uid: { type: 'Action', id: actionOf(verb, m.id) },
        attrs: {},
        parents: [{ type: 'Action', id: verb }],
      },
      {
        uid: { type: 'User', id: input.sub },
        attrs: { subject: input.sub, roles: [...input.roles], tenant: input.tenant },
        parents: [],
      },
      {
        uid: { type: 'Tool', id: m.id },
        attrs: { risk: m.risk, scopes: [...m.scopes], lanes: [], egress: [] },
        parents: [],
      },
    ],
    policies: { staticPolicies: policies },
    validateRequest: false,
  });
  if (r.type !== 'success') throw new Error(JSON.stringify(r.errors));
  const errorIds = r.response.diagnostics.errors.map((e) => e.policyId).sort();
  return {
    allowed: r.response.decision === 'allow' && errorIds.length === 0,
    policyIds: [...r.response.diagnostics.reason].sort(),
    errorIds,
  };
}
