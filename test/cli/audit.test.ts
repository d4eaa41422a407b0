// The CLI's decisions land on the same trail as the services': an approval and a mint made with
// `toolcage broker ...` appear with their deciding approver/role and join on approvalId; the trail of
// several CLI processes verifies (exit 0); a tampered one exits 1; `audit export --format ocsf` maps it.
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';
import { patchArgs } from '../helpers/runner.ts';

let ws: Workspace;
beforeAll(async () => {
  ws = await makeWorkspace();
  writeFileSync(ws.path('patch.json'), JSON.stringify(patchArgs()));
  // alice approves (another person than the caller, local-user): give her the approver role.
  const policy = ws.path('broker-policy.yaml');
  writeFileSync(
    policy,
    readFileSync(policy, 'utf8').replace('principals:\n', 'principals:\n  alice: [approver]\n'),
  );
});
afterAll(() => ws.cleanup());

const cli = (args: string[]) => runCli(args, { cwd: ws.dir });
const records = () =>
  readFileSync(ws.path('.toolcage', 'audit.log'), 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

it('a CLI approval and mint appear on the trail, joined by approvalId, and the trail verifies', async () => {
  // The call needing approval is refused and opens a request; alice approves that request; the
  // retry finds it by its envelope and mints with it.
  const refused = await cli([
    'broker',
    'issue-claim',
    '--tool',
    'repo.apply_patch',
    '--args',
    'patch.json',
  ]);
  expect(refused.code).toBe(2);
  const approve = await cli([
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
  ]);
  expect(approve.code, approve.stderr).toBe(0);
  const approvalId = approve.stdout.trim();
  const mint = await cli([
    'broker',
    'issue-claim',
    '--tool',
    'repo.apply_patch',
    '--args',
    'patch.json',
    '--approval',
    approvalId,
  ]);
  expect(mint.code, mint.stderr).toBe(0);

  const recs = records();
  const decided = recs.find((r) => r.kind === 'approval_decided');
  expect(decided).toMatchObject({
    origin: 'cli',
    approvalId,
    decision: 'approved',
    approver: 'alice',
    toolId: 'repo.apply_patch',
    level: 'info',
  });
  expect(recs.find((r) => r.kind === 'claim_refused')).toMatchObject({
    origin: 'cli',
    errorCode: 'approval_required',
    subject: 'local-user',
  });
  const minted = recs.find((r) => r.kind === 'claim_minted');
  expect(minted).toMatchObject({
    origin: 'cli',
    approvalId,
    rule: 'role:admin',
    subject: 'local-user',
    bound: false,
    via: 'cli',
  });
  expect(minted!.ttlSeconds).toBeGreaterThan(0);
  expect(minted!.jti).toEqual(expect.any(String));
  // One chain per CLI process, each sealed by a final signed checkpoint.
  expect(new Set(recs.map((r) => r.chain)).size).toBe(3);

  const ok = await cli(['audit', 'verify']);
  expect(ok.code).toBe(0);
  expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, exitCode: 0, findings: [] });

  const ocsf = await cli(['audit', 'export', '--format', 'ocsf']);
  expect(ocsf.code).toBe(0);
  const events = ocsf.stdout
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(events).toHaveLength(4); // the refusal, the request it opened, its approval, the mint
  expect(
    events.find((e) => e.api && (e.api as { operation: string }).operation === 'claim_minted'),
  ).toMatchObject({
    class_uid: 3003,
    activity_id: 1,
    type_uid: 300301,
    status_id: 1,
    actor: { user: { uid: 'local-user' } },
  });
  const none = await cli(['audit', 'export', '--since', '2999-01-01T00:00:00Z']);
  expect(none.stdout).toBe('');
}, 120_000);

it('audit verify exits 1 and names the line when a record was edited', async () => {
  const file = ws.path('.toolcage', 'audit.log');
  const text = readFileSync(file, 'utf8');
  writeFileSync(file, text.replace('"approver":"alice"', '"approver":"mallory"'));
  const r = await cli(['audit', 'verify']);
  expect(r.code).toBe(1);
  expect(JSON.parse(r.stdout).findings).toContainEqual(
    expect.objectContaining({ kind: 'modified' }),
  );
  writeFileSync(file, text);
}, 60_000);
