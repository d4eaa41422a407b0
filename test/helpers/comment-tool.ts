import { writeFileSync } from 'node:fs';
import { addTool, type Workspace } from './workspace.ts';

/** A low-risk tool whose claims are scoped by a template: `repo:{/repo}/pull:{/pull}`. */
export const COMMENT_TOOL = 'github.comment_pr';

export function addCommentTool(ws: Workspace): void {
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
principals:
  local-user: [admin]
  pay-bot: [payments]
${extra}`,
  );
}
