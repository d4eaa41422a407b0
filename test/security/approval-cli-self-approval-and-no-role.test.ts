// Attack: decide an approval request from the terminal, where `toolcage mcp approve` and
// `toolcage broker approve` used to skip the rules the HTTP path enforced: approve your own agent's
// call, or approve as a name the policy gives no approver role. The CLI goes through the same rules:
// both are policy_denied; a denial needs a reason; each request and decision is audited.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../../src/cli/workspace.ts';
import { loadConfig } from '../../src/config/load.ts';
import { createBrokerRuntime } from '../../src/runtime/broker.ts';
import { cliError, runCli } from '../helpers/cli.ts';
import { makeWorkspace, type Workspace } from '../http/helpers.ts';

let ws: Workspace;
const args = { files: { 'a.txt': 'x' }, edits: [{ path: 'a.txt', find: 'x', replace: 'y' }] };
let id: string;

beforeAll(async () => {
  ws = await makeWorkspace(
    {},
    {
      policy: DEFAULT_POLICY.replace('allowSelfApproval: true', 'allowSelfApproval: false').replace(
        'local-user: [admin, approver]',
        'local-user: [admin, approver]\n  reviewer: [approver]\n  intern: [admin]',
      ),
    },
  );
  // The agent (local-user) asks for a claim: that opens the pending request.
  const rt = await createBrokerRuntime(loadConfig(ws.configFile));
  try {
    await rt.broker.issueClaim({
      tool: 'repo.apply_patch',
      args,
      sub: 'local-user',
      roles: ['admin'],
      tenant: 'default',
      via: 'test',
    });
  } catch (err) {
    id = (err as { details: { approvalId: string } }).details.approvalId;
  } finally {
    await rt.close();
  }
  expect(id).toMatch(/^apr_/);
});
afterAll(() => ws?.cleanup());

const cli = (...a: string[]) => runCli([...a, '--config', ws.configFile], { cwd: ws.dir });

it('the requester cannot approve their own request from the CLI, by either command', async () => {
  for (const r of [await cli('approvals', 'approve', id), await cli('mcp', 'approve', id)]) {
    expect(r.code).not.toBe(0);
    expect(cliError(r)).toMatchObject({
      code: 'policy_denied',
      message: expect.stringMatching(/own/),
    });
  }
  writeFileSync(join(ws.dir, 'args.json'), JSON.stringify(args));
  const shortcut = await cli(
    'broker',
    'approve',
    '--tool',
    'repo.apply_patch',
    '--args',
    'args.json',
    '--sub',
    'local-user',
  );
  expect(cliError(shortcut).code).toBe('policy_denied');
});

it('a name without an approver role cannot approve; a reviewer denies with a reason, audited', async () => {
  const intern = await cli('approvals', 'approve', id, '--by', 'intern');
  expect(cliError(intern)).toMatchObject({
    code: 'policy_denied',
    message: expect.stringMatching(/no approver role/),
  });
  const noReason = await cli('mcp', 'approve', id, '--deny', '--by', 'reviewer');
  expect(cliError(noReason).code).toBe('request_invalid');

  const show = await cli('approvals', 'show', id, '--by', 'reviewer');
  expect(JSON.parse(show.stdout)).toMatchObject({
    id,
    status: 'pending',
    args,
    subject: 'local-user',
  });
  const denied = await cli('approvals', 'deny', id, '--by', 'reviewer', '--reason', 'wrong file');
  expect(denied.code).toBe(0);
  expect(JSON.parse(denied.stdout)).toMatchObject({
    id,
    status: 'denied',
    decidedBy: 'reviewer',
    reason: 'wrong file',
  });
  const list = await cli('approvals', 'list', '--status', 'denied', '--by', 'reviewer');
  expect(JSON.parse(list.stdout).map((r: { id: string }) => r.id)).toContain(id);

  const audit = readFileSync(join(ws.dir, '.toolcage/audit.log'), 'utf8');
  const lines = audit
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(
    lines
      .filter((l) => l.approvalId === id && l.errorCode === undefined)
      .map((l) => [l.kind, l.decision ?? 'requested', l.approver ?? l.subject, l.reason]),
  ).toEqual([
    ['approval_requested', 'requested', 'local-user', undefined],
    ['approval_decided', 'denied', 'reviewer', 'wrong file'],
  ]);
  expect(audit).not.toContain('"find"');
});
