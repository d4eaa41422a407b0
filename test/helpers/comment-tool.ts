import { writeFileSync } from 'node:fs';
import { addTool, type Workspace } from './workspace.ts';

/** A low-risk tool whose claims are scoped by a template: `repo:{/repo}/pull:{/pull}`. */
export const COMMENT_TOOL = 'github.comment_pr';

export function addCommentTool(ws: Pick<Workspace, 'manifests'>): void {
  addTool(ws, {
    id: COMMENT_TOOL,
    source: 'export default function run(input) { return { ok: true, repo: input.repo }; }',
    inputSchema: {
      type: 'object',
      properties: {
        repo: { type: 'string', maxLength: 200 },
        pull: { type: 'integer' },
        body: { type: 'string' },
        meta: {
          type: 'object',
          properties: {
            path: { type: 'string' },
            labels: { type: 'array', items: { type: 'string' } },
          },
        },
      },
      required: ['repo', 'pull'],
      additionalProperties: false,
    },
    scopes: ['pr:comment'],
    scopeTemplates: ['repo:{/repo}/pull:{/pull}'],
  });
}

/** A policy granting `payments` the comment tool on payments-api only. */
export function writeScopedPolicy(ws: Workspace, extra = '', principals = ''): void {
  writeFileSync(
    ws.path('broker-policy.yaml'),
    `roles:
  admin: { tools: ["*"] }
  payments: { tools: ["github.comment_pr", "text.*"], scopes: ["pr:comment", "text:read", "repo:payments-api/*"] }
approvers:
  approver: { tools: ["*"], tenants: ["*"] }
  docs-lead: { tools: ["*"], tenants: ["*"] }
principals:
  local-user: [admin]
  pay-bot: [payments]
  alice: [approver]
${principals}${extra}`,
  );
}

/** Cedar conditions for the tests: a baseline permit, a nested-argument forbid, a session forbid, and one that overflows. */
export const CEDAR = `@id("base")
permit(principal, action in Action::"call", resource);

@id("comment-docs-only")
forbid(principal, action == Action::"call:github.comment_pr", resource)
unless { context.args has meta && context.args.meta has path && context.args.meta.path like "docs/*" };

@id("no-quarantined-session")
forbid(principal, action, resource) when { context.session == "quarantined" };

@id("pull-overflow")
forbid(principal, action == Action::"call:github.comment_pr", resource)
when { context.args.pull * 1000000000000 < 0 };

@id("approvers")
permit(principal, action in Action::"approve", resource)
when { principal.roles.contains("approver") };
`;

/** A high-risk tool (every call needs a human's approval) naming the one file it patches. */
export const PATCH_TOOL = 'repo.patch_file';

export function addPatchFileTool(ws: Pick<Workspace, 'manifests'>): void {
  addTool(ws, {
    id: PATCH_TOOL,
    source: 'export default function run(input) { return { patched: input.path }; }',
    inputSchema: {
      type: 'object',
      properties: {
        path: { type: 'string', maxLength: 256 },
        line: { type: 'integer' },
        patch: { type: 'string' },
      },
      required: ['path', 'line', 'patch'],
      additionalProperties: false,
    },
    scopes: ['repo:write'],
    risk: 'high',
  });
}

/**
 * Conditions on approving: a docs lead may not approve a patch under \`src/\`, and a
 * forbid that overflows on a huge line number (an evaluation error, which must never allow).
 */
export const APPROVE_CEDAR = `@id("no-src-approval-by-docs-lead")
forbid(principal, action == Action::"approve:${PATCH_TOOL}", resource)
when { context.args.path like "src/*" && principal.roles.contains("docs-lead") };

@id("approve-line-overflow")
forbid(principal, action == Action::"approve:${PATCH_TOOL}", resource)
when { context.args.line * 1000000000000 < 0 };
`;

/** The approvers of the approval tests: \`lead\` also holds \`docs-lead\`. */
export const APPROVER_POLICY_EXTRA = `  lead: [approver, docs-lead]
  dev: [admin]
`;

/** Writes the Cedar file and a policy naming it. */
export function writeCedar(ws: Workspace, cedar = CEDAR, principals = ''): void {
  writeFileSync(ws.path('broker-policy.cedar'), cedar);
  writeScopedPolicy(ws, 'conditions: { cedarFile: broker-policy.cedar }\n', principals);
}
