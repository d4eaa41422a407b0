// `toolcage policy check` type-checks Cedar policies against the registry (a policy naming a field
// no tool has is refused), `toolcage policy explain` prints the decision without minting, and an
// approval given in one session does not authorize the same call in another (over the CLI).
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { cliError, runCli } from '../helpers/cli.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';
import { addCommentTool, CEDAR, writeCedar } from '../helpers/comment-tool.ts';
import { patchArgs } from '../helpers/runner.ts';

vi.setConfig({ testTimeout: 120_000 });

let ws: Workspace;
beforeAll(async () => {
  ws = await makeWorkspace();
  addCommentTool(ws);
  await ws.relock();
  writeCedar(ws);
  writeFileSync(
    ws.path('docs-args.json'),
    JSON.stringify({ repo: 'payments-api', pull: 3, meta: { path: 'docs/x' } }),
  );
  writeFileSync(
    ws.path('src-args.json'),
    JSON.stringify({ repo: 'payments-api', pull: 3, meta: { path: 'src/x' } }),
  );
  writeFileSync(ws.path('patch.json'), JSON.stringify(patchArgs()));
});
afterAll(() => ws?.cleanup());

const cli = (...args: string[]) => runCli([...args, '--config', ws.configFile], { cwd: ws.dir });

it('policy check passes the shipped conditions and names the policies', async () => {
  const r = await cli('policy', 'check');
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(
    /5 Cedar policies \(base, comment-docs-only, no-quarantined-session, pull-overflow, approvers\) type-check against \d+ tools/,
  );
});

it('policy check refuses a policy that names a field no tool has, naming the policy and field', async () => {
  writeCedar(
    ws,
    `${CEDAR}\n@id("typo") forbid(principal, action == Action::"call:github.comment_pr", resource) when { context.args.repository == "x" };\n`,
  );
  try {
    const r = await cli('policy', 'check');
    expect(r.code).not.toBe(0);
    const e = cliError(r);
    expect(e.code).toBe('config_invalid');
    expect(e.message).toMatch(
      /1 Cedar policy does not type-check against the registry:\n {2}typo: .*args\.repository.*not found/,
    );
    // The broker refuses to start on such a policy too.
    const mint = await cli(
      'broker',
      'issue-claim',
      '--tool',
      'text.word_count',
      '--args',
      'docs-args.json',
    );
    expect(cliError(mint).code).toBe('config_invalid');
  } finally {
    writeCedar(ws);
  }
});

it('policy explain prints the decision and why, without minting', async () => {
  const ok = await cli(
    'policy',
    'explain',
    '--tool',
    'github.comment_pr',
    '--args',
    'docs-args.json',
    '--sub',
    'pay-bot',
    '--session',
    'conv-9',
  );
  expect(ok.code).toBe(0);
  const out = JSON.parse(ok.stdout) as Record<string, unknown>;
  expect(out).toMatchObject({
    sub: 'pay-bot',
    roles: ['payments'],
    allowed: true,
    renderedScope: ['repo:payments-api/pull:3'],
    cedar: { decision: 'allow', policies: ['base'] },
    pol: { h: expect.stringMatching(/^sha256:/), ids: ['role:payments', 'base'] },
  });
  const no = await cli(
    'policy',
    'explain',
    '--tool',
    'github.comment_pr',
    '--args',
    'src-args.json',
    '--sub',
    'pay-bot',
  );
  expect(no.code).toBe(1);
  expect(JSON.parse(no.stdout)).toMatchObject({
    allowed: false,
    error: { code: 'policy_denied', message: expect.stringMatching(/comment-docs-only/) },
    cedar: { decision: 'deny', policies: ['comment-docs-only'] },
  });
});

it('an approval given in one session does not authorize the call in another unless the approver says so', async () => {
  const approve = async (...extra: string[]) => {
    const r = await cli(
      'broker',
      'approve',
      '--tool',
      'repo.apply_patch',
      '--args',
      'patch.json',
      '--sub',
      'local-user',
      '--by',
      'alice',
      ...extra,
    );
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.trim();
  };
  const mint = (approval: string, ...extra: string[]) =>
    cli(
      'broker',
      'issue-claim',
      '--tool',
      'repo.apply_patch',
      '--args',
      'patch.json',
      '--approval',
      approval,
      ...extra,
    );

  const inS1 = await approve('--session', 's1');
  const other = await mint(inS1, '--session', 's2');
  expect(cliError(other)).toMatchObject({
    code: 'approval_required',
    message: expect.stringMatching(/\(mismatch\).*and session/),
  });
  expect(cliError(await mint(inS1))).toMatchObject({ code: 'approval_required' });
  const same = await mint(inS1, '--session', 's1');
  expect(same.code, same.stderr).toBe(0);
  const payload = JSON.parse(
    Buffer.from(same.stdout.trim().split('.')[1]!, 'base64url').toString(),
  ) as Record<string, unknown>;
  expect(payload).toMatchObject({ sid: 's1', approval_id: inS1 });

  // s1's request is still approved (the runner, not the broker, uses it up), so the widened
  // approval is given on a request of another session: one live request per envelope and session.
  const any = await approve('--session', 's3', '--any-session');
  expect((await mint(any, '--session', 's2')).code).toBe(0);
});
