// Cedar decides who may approve, over the CLI: `approvals approve` by an approver a Cedar forbid
// covers (a docs lead, a patch under src/) is refused naming the policy, while another approver's
// approval goes through; `policy explain --action approve --approver S` prints both decisions
// without deciding; the audit file's approval_decided lines carry the policies that decided.
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { cliError, runCli } from '../helpers/cli.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';
import {
  addCommentTool,
  addPatchFileTool,
  APPROVE_CEDAR,
  APPROVER_POLICY_EXTRA,
  CEDAR,
  PATCH_TOOL,
  writeCedar,
} from '../helpers/comment-tool.ts';

vi.setConfig({ testTimeout: 180_000 });

let ws: Workspace;
beforeAll(async () => {
  ws = await makeWorkspace();
  addCommentTool(ws);
  addPatchFileTool(ws);
  await ws.relock();
  writeCedar(ws, `${CEDAR}\n${APPROVE_CEDAR}`, APPROVER_POLICY_EXTRA);
  writeFileSync(ws.path('src.json'), JSON.stringify({ path: 'src/main.ts', line: 4, patch: '+x' }));
});
afterAll(() => ws?.cleanup());

const cli = (...args: string[]) => runCli([...args, '--config', ws.configFile], { cwd: ws.dir });
const explain = (approver: string) =>
  cli(
    'policy',
    'explain',
    '--action',
    'approve',
    '--tool',
    PATCH_TOOL,
    '--args',
    'src.json',
    '--sub',
    'dev',
    '--approver',
    approver,
  );

it('explains, then enforces, who may approve a src/ patch', async () => {
  const lead = await explain('lead');
  expect(lead.code).toBe(1);
  expect(JSON.parse(lead.stdout)).toMatchObject({
    action: 'approve',
    allowed: false,
    tool: PATCH_TOOL,
    sub: 'dev',
    approver: 'lead',
    approverRoles: ['approver', 'docs-lead'],
    error: {
      code: 'policy_denied',
      message: expect.stringMatching(/no-src-approval-by-docs-lead forbids approving/),
    },
    cedar: { decision: 'deny', policies: ['no-src-approval-by-docs-lead'] },
  });
  const alice = await explain('alice');
  expect(alice.code, alice.stderr).toBe(0);
  expect(JSON.parse(alice.stdout)).toMatchObject({
    action: 'approve',
    allowed: true,
    approver: 'alice',
    cedar: { decision: 'allow', policies: ['approvers'] },
    pol: { h: expect.stringMatching(/^sha256:/), ids: ['approver:approver', 'approvers'] },
  });

  // The call opens a pending request...
  const ask = await cli(
    'broker',
    'issue-claim',
    '--tool',
    PATCH_TOOL,
    '--args',
    'src.json',
    '--sub',
    'dev',
  );
  const asked = cliError(ask);
  expect(asked.code).toBe('approval_required');
  const id = /apr_[0-9a-f-]{36}/.exec(asked.message)![0];

  // ...which the docs lead cannot approve, and alice can.
  const refused = await cli('approvals', 'approve', id, '--by', 'lead');
  expect(cliError(refused)).toMatchObject({
    code: 'policy_denied',
    message: expect.stringMatching(
      /The policy no-src-approval-by-docs-lead forbids approving this request for repo\.patch_file/,
    ),
  });
  const ok = await cli('approvals', 'approve', id, '--by', 'alice');
  expect(ok.code, ok.stderr).toBe(0);
  expect(JSON.parse(ok.stdout)).toMatchObject({ id, status: 'approved' });

  const decided = readFileSync(ws.path('.toolcage', 'audit.log'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => r.kind === 'approval_decided' && r.approvalId === id);
  expect(decided).toMatchObject([
    {
      approver: 'lead',
      errorCode: 'policy_denied',
      policy: { ids: ['no-src-approval-by-docs-lead'] },
    },
    {
      approver: 'alice',
      decision: 'approved',
      policy: { ids: ['approver:approver', 'approvers'] },
    },
  ]);
});
