import type { ToolManifest as Manifest } from '../ports/tool.ts';
import { keep, type CedarNeeds } from './cedar-needs.ts';
import { Uid, type Value } from './cedar-js-values.ts';
import { wellFormed, type JsRequest } from './cedar-js.ts';
import { actionOf, project, type CedarType, type CedarVerb } from './cedar-schema.ts';

/** One Cedar request's inputs: who, what (call or approve), which tool, and the call's facts. */
export interface ConditionInput {
  /** What is decided: calling the tool (default), or approving someone's call of it. */
  action?: CedarVerb;
  manifest: Manifest;
  /** The principal: the caller, or for `approve` the approver. */
  sub: string;
  roles: readonly string[];
  /** The principal's tenant: the caller's, or for `approve` the request's. */
  tenant: string;
  /** For `approve`: the subject who asked for the call. */
  requester?: string | undefined;
  /** Validated against the tool's input schema by the caller. */
  args: unknown;
  rendered: readonly string[];
  session?: string | undefined;
  nowMs: number;
}

export interface Entity {
  uid: { type: string; id: string };
  attrs: Record<string, unknown>;
  parents: Array<{ type: string; id: string }>;
}

/** What never changes for a manifest: its `args` type and its `Tool` attributes. */
export interface ToolFacts {
  args: CedarType;
  attrs: Record<string, unknown>;
  /** The tool's id and attributes hold no lone surrogate (the JavaScript evaluator may take it). */
  wellFormed: boolean;
}

export function toolFacts(m: Manifest, args: CedarType): ToolFacts {
  const attrs = {
    risk: m.risk,
    scopes: [...new Set([...m.scopes, ...m.credentials.flatMap((c) => c.scopes)])],
    lanes: m.credentials.map((c) => c.lane),
    egress: m.network === 'none' ? [] : m.network.egress.map((e) => e.host),
  };
  return { args, attrs, wellFormed: wellFormed(m.id) && wellFormed(attrs) };
}

/** The context every request has: the call's facts, time, and for `approve` who asked. */
function fullContext(input: ConditionInput, tool: ToolFacts): Record<string, unknown> {
  const now = new Date(input.nowMs);
  return {
    args: project(tool.args, input.args) ?? {},
    scopes: input.rendered,
    session: input.session ?? '',
    now: Math.floor(input.nowMs / 1000),
    hourUtc: now.getUTCHours(),
    weekdayUtc: now.getUTCDay(),
    ...(input.action === 'approve'
      ? { requester: input.requester ?? '', tenant: input.tenant }
      : {}),
  };
}

/**
 * The whole request (every entity, every attribute) for the JavaScript
 * evaluator, which reads values in place: nothing is pruned or serialised.
 * Undefined when a string is not well-formed UTF-16: cedar-wasm refuses such a
 * request, and that refusal is left to cedar-wasm to give.
 */
export function jsRequest(input: ConditionInput, tool: ToolFacts): JsRequest | undefined {
  const verb = input.action ?? 'call';
  const m = input.manifest;
  const context = fullContext(input, tool);
  const principalAttrs = { subject: input.sub, roles: input.roles, tenant: input.tenant };
  if (!tool.wellFormed || !wellFormed(principalAttrs) || !wellFormed(context)) return undefined;
  return {
    principal: new Uid('User', input.sub),
    action: new Uid('Action', actionOf(verb, m.id)),
    group: new Uid('Action', verb),
    resource: new Uid('Tool', m.id),
    principalAttrs: principalAttrs as unknown as { [k: string]: Value },
    resourceAttrs: tool.attrs as { [k: string]: Value },
    context: context as { [k: string]: Value },
  };
}

const pick = (needs: CedarNeeds, root: string, attrs: Record<string, unknown>) =>
  needs.all ? attrs : keep(attrs, needs.roots.get(root));

/**
 * The context and entities of one request, holding only what the policies
 * that can apply to this action read (src/policy/cedar-needs.ts says why that
 * is exact): the action with its group when some policy tests `in`, the
 * principal and the tool with the attributes read, the context values read.
 */
export function cedarRequest(input: ConditionInput, tool: ToolFacts, needs: CedarNeeds) {
  const verb = input.action ?? 'call';
  const m = input.manifest;
  const action = actionOf(verb, m.id);
  const entities: Entity[] = [];
  if (needs.all || needs.actionParents)
    // No schema at evaluation, so the action's group is given as an entity.
    entities.push({
      uid: { type: 'Action', id: action },
      attrs: {},
      parents: [{ type: 'Action', id: verb }],
    });
  if (needs.all || needs.roots.has('principal'))
    entities.push({
      uid: { type: 'User', id: input.sub },
      attrs: pick(needs, 'principal', {
        subject: input.sub,
        roles: [...input.roles],
        tenant: input.tenant,
      }),
      parents: [],
    });
  if (needs.all || needs.roots.has('resource'))
    entities.push({
      uid: { type: 'Tool', id: m.id },
      attrs: pick(needs, 'resource', tool.attrs),
      parents: [],
    });
  let context: Record<string, unknown> = {};
  if (needs.all || needs.roots.has('context'))
    context = pick(needs, 'context', fullContext(input, tool));
  return {
    principal: { type: 'User', id: input.sub },
    action: { type: 'Action', id: action },
    resource: { type: 'Tool', id: m.id },
    context,
    entities,
  };
}
