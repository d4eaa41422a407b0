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
export function writeScopedPolicy(ws: Workspace, extra = ''): void {
  writeFileSync(
    ws.path('broker-policy.yaml'),
    `roles:
  admin: { tools: ["*"] }
  payments: { tools: ["github.comment_pr", "text.*"], scopes: ["pr:comment", "text:read", "repo:payments-api/*"] }
approvers:
  approver: { tools: ["*"], tenants: ["*"] }
principals:
  local-user: [admin]
  pay-bot: [payments]
  alice: [approver]
${extra}`,
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
`;

/** Writes the Cedar file and a policy naming it. */
export function writeCedar(ws: Workspace, cedar = CEDAR): void {
  writeFileSync(ws.path('broker-policy.cedar'), cedar);
  writeScopedPolicy(ws, 'conditions: { cedarFile: broker-policy.cedar }\n');
}
