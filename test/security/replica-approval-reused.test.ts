// Attack: one human approval, two claims carrying its id, each sent to a different runner replica, so
// that each replica's own bookkeeping sees the approval unused. Approvals are consumed atomically in
// the shared Redis (one Lua script), so the second replica refuses with approval_required.
import { expect, it } from 'vitest';
import { invoke, mint, outcome, useTwoReplicas } from '../replicas/helpers.ts';

const rep = useTwoReplicas('replica-approval');

const patch = (replace: string) => ({
  files: { 'a.txt': 'hello world' },
  edits: [{ path: 'a.txt', find: 'hello', replace }],
});

it('an approval used on replica A cannot be used again on replica B', async () => {
  const args = patch('bye');
  const approval = await rep.broker.broker.recordApproval({
    tool: 'repo.apply_patch',
    args,
    sub: 'local-user',
    tenant: 'default',
    status: 'approved',
    decidedBy: 'reviewer',
  });
  const first = await mint(rep.broker, 'repo.apply_patch', args, { approvalId: approval.id });
  const second = await mint(rep.broker, 'repo.apply_patch', args, { approvalId: approval.id });
  const used = await invoke(rep.a.url, 'repo.apply_patch', args, first.claim);
  expect(used.status).toBe(200);
  expect(used.body.result).toMatchObject({ changed: ['a.txt'], files: { 'a.txt': 'bye world' } });
  const refused = await invoke(rep.b.url, 'repo.apply_patch', args, second.claim);
  expect(outcome(refused)).toEqual({ status: 403, code: 'approval_required' });
  expect(refused.body.error.message).toMatch(/already used; approvals are single-use/);
});

it('of two claims sharing one approval sent to A and B at once, exactly one runs', async () => {
  const args = patch('race');
  const approval = await rep.broker.broker.recordApproval({
    tool: 'repo.apply_patch',
    args,
    sub: 'local-user',
    tenant: 'default',
    status: 'approved',
    decidedBy: 'reviewer',
  });
  const claims = await Promise.all(
    [0, 1, 2, 3].map(() => mint(rep.broker, 'repo.apply_patch', args, { approvalId: approval.id })),
  );
  const replies = await Promise.all(
    claims.map((c, i) =>
      invoke((i % 2 === 0 ? rep.a : rep.b).url, 'repo.apply_patch', args, c.claim),
    ),
  );
  expect(replies.map(outcome).sort((x, y) => x.status - y.status)).toEqual([
    { status: 200, code: undefined },
    { status: 403, code: 'approval_required' },
    { status: 403, code: 'approval_required' },
    { status: 403, code: 'approval_required' },
  ]);
});
