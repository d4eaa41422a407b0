import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseStrictYaml } from '../util/strict-yaml.ts';
import { ToolcageError } from '../errors/toolcage-error.ts';
import type { Manifest } from '../registry/manifest.ts';

const ttl = z.number().int().positive().max(3600);
const pattern = z.string().regex(/^[A-Za-z0-9_.:*\-/]+$/);

const rulesSchema = z.strictObject({
  ttlSeconds: ttl.optional(),
  approval: z.enum(['required', 'none']).optional(),
});

/**
 * The broker's policy: who may ask for which tool, with which scopes, for
 * how long, and whether a human must approve. Deny by default: a principal
 * with no role, or a role that does not list the tool, gets nothing.
 */
export const policySchema = z.strictObject({
  /** Hard cap on any claim's lifetime; no rule or request can exceed it. */
  maxTtlSeconds: ttl.default(300),
  /** Lifetime when nothing more specific applies. */
  defaultTtlSeconds: ttl.default(60),
  /** Per risk level; `high` always requires approval whatever this says. */
  risk: z
    .strictObject({
      low: rulesSchema.optional(),
      medium: rulesSchema.optional(),
      high: rulesSchema.optional(),
    })
    .default({}),
  /** Per tool id (exact), overriding the risk rules. */
  tools: z.record(z.string(), rulesSchema).default({}),
  /** Role → the tool ids (globs: `text.*`, `*`) and scopes (globs) it may request. */
  roles: z.record(
    z.string(),
    z.strictObject({ tools: z.array(pattern).min(1), scopes: z.array(pattern).default(['*']) }),
  ),
  /** Principals known to the broker without an identity provider (the CLI's local user, service keys): subject → roles. */
  principals: z.record(z.string(), z.array(z.string())).default({}),
  /** Conditions in Cedar, beside the roles (docs/policy.md): a call needs both. */
  conditions: z.strictObject({ cedarFile: z.string().min(1) }).optional(),
  /** Approval lifetime, seconds. */
  approvalTtlSeconds: z.number().int().positive().max(86_400).default(900),
  /**
   * Role → the tools (globs) and tenants (globs) whose approval requests its
   * holders may approve or deny. A principal still decides only for tenants its
   * credential lists. The config's `broker.approverRoles` count as approvers
   * of every tool and tenant.
   */
  approvers: z
    .record(
      z.string(),
      z.strictObject({
        tools: z.array(pattern).min(1).default(['*']),
        tenants: z.array(pattern).min(1).default(['*']),
      }),
    )
    .default({}),
  /**
   * Lets an approver decide a request they made themselves. Off by default;
   * meant for a one-person dev workspace, and shown as such in the console and CLI.
   */
  allowSelfApproval: z.boolean().default(false),
  /**
   * Role → the subjects (globs) its holders may ask claims for, and the roles
   * (globs) they may assert for them: a service that mints on behalf of its
   * own callers (`toolcage mcp` with a remote broker, docs/mcp-remote-broker.md).
   * A claim request naming another subject (`onBehalfOf`) without such a
   * grant is refused. Empty by default: nobody mints for anybody else.
   */
  delegates: z
    .record(
      z.string(),
      z.strictObject({
        subjects: z.array(z.string().min(1).max(256)).min(1),
        roles: z.array(pattern).default([]),
      }),
    )
    .default({}),
});

export type Policy = z.infer<typeof policySchema>;

export function parsePolicy(text: string, where: string): Policy {
  const p = parseStrictYaml(text, where, policySchema, 'config_invalid', 'Policy');
  for (const [name, rule] of [
    ['defaultTtlSeconds', p.defaultTtlSeconds] as const,
    ...Object.entries(p.tools).map(([k, r]) => [`tools.${k}.ttlSeconds`, r.ttlSeconds] as const),
  ]) {
    if (rule !== undefined && rule > p.maxTtlSeconds)
      throw new ToolcageError('config_invalid', {
        message: `${where}: ${name} (${rule}) exceeds maxTtlSeconds (${p.maxTtlSeconds}).`,
      });
  }
  for (const [sub, roles] of Object.entries(p.principals)) {
    for (const r of roles)
      if (
        !Object.hasOwn(p.roles, r) &&
        !Object.hasOwn(p.approvers, r) &&
        !Object.hasOwn(p.delegates, r)
      )
        throw new ToolcageError('config_invalid', {
          message: `${where}: principals.${sub} names unknown role ${r}.`,
        });
  }
  return p;
}

export function loadPolicy(file: string): Policy {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new ToolcageError('config_invalid', {
      message: `Cannot read the broker policy ${file}: ${(cause as Error).message}`,
      cause,
    });
  }
  return parsePolicy(text, file);
}

export function globMatch(glob: string, value: string): boolean {
  if (glob === '*') return true;
  const re = new RegExp(
    `^${glob
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\/-]/g, '\\$&'))
      .join('.*')}$`,
  );
  return re.test(value);
}

export interface PolicyDecision {
  ttlSeconds: number;
  /** Everything the claim carries: the requested (or default) scopes, then the rendered ones. */
  scope: string[];
  approvalRequired: boolean;
  /** The roles whose grants allowed the tool and every scope (for the decision record). */
  roles: string[];
  /** The policy entries that granted the tool (`role:<name>`), for the audit record. */
  rule: string;
}

/**
 * Decides a claim request. `roles` come from the authenticated principal;
 * `requested` are the caller's wishes, never more than policy allows.
 */
export function decide(
  policy: Policy,
  manifest: Manifest,
  roles: readonly string[],
  requested: { ttlSeconds?: number; scope?: string[]; rendered?: readonly string[] },
): PolicyDecision {
  const grants = roles.flatMap((r) =>
    Object.hasOwn(policy.roles, r) ? [{ ...policy.roles[r]!, role: r }] : [],
  );
  const toolGrants = grants.filter((g) => g.tools.some((t) => globMatch(t, manifest.id)));
  if (toolGrants.length === 0) {
    throw new ToolcageError('policy_denied', {
      message: `Your role${roles.length === 1 ? '' : 's'} (${roles.join(', ') || 'none'}) may not request ${manifest.id}. Ask an administrator for a role that grants it.`,
    });
  }
  const rule = {
    ...(policy.risk[manifest.risk] ?? {}),
    ...(Object.hasOwn(policy.tools, manifest.id) ? policy.tools[manifest.id] : {}),
  };
  const maxTtl = Math.min(rule.ttlSeconds ?? policy.defaultTtlSeconds, policy.maxTtlSeconds);
  const ttlSeconds = requested.ttlSeconds ?? maxTtl;
  // Over-long first: any TTL above the maximum (fractional, huge or infinite) gets this one answer.
  if (typeof ttlSeconds === 'number' && ttlSeconds > maxTtl) {
    const shown = Number.isFinite(ttlSeconds) ? `${ttlSeconds} s` : 'an unbounded time';
    throw new ToolcageError('policy_denied', {
      message: `A TTL of ${shown} exceeds the policy maximum of ${maxTtl} s for ${manifest.id} (risk ${manifest.risk}). Ask for ${maxTtl} s or less.`,
    });
  }
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0)
    throw new ToolcageError('request_invalid', {
      message: `TTL must be a positive whole number of seconds, got ${String(requested.ttlSeconds)}.`,
    });
  const scope = [
    ...new Set([
      ...(requested.scope ?? [
        ...manifest.scopes,
        ...manifest.credentials.flatMap((c) => c.scopes),
      ]),
      ...(requested.rendered ?? []),
    ]),
  ];
  const denied = scope.filter(
    (s) => !toolGrants.some((g) => g.scopes.some((p) => globMatch(p, s))),
  );
  if (denied.length > 0)
    throw new ToolcageError('policy_denied', {
      message: `Your roles may not be granted scope ${denied.join(', ')}.`,
    });
  return {
    ttlSeconds,
    scope,
    approvalRequired: manifest.risk === 'high' || rule.approval === 'required',
    roles: toolGrants
      .filter((g) => scope.every((s) => g.scopes.some((p) => globMatch(p, s))))
      .map((g) => g.role),
    rule: toolGrants.map((g) => `role:${g.role}`).join(','),
  };
}
