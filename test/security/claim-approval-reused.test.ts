// Attack: one human approval, two calls. Mint two claims carrying the same approval id before either is
// used; the approval is single-use, consumed atomically by the runner.
import { expect, it } from 'vitest';
import type { ToolcageError } from '../../src/errors/toolcage-error.ts';
import {
  brokerFor,
  execute,
  expectBenignSucceeds,
  expectRefusal,
  patchArgs,
  useRunner,
} from '../helpers/runner.ts';

const s = useRunner();
const args = patchArgs();
const USED =
  'The approval was already used; approvals are single-use. Ask a human to approve exactly this call, then mint a claim carrying the new approval id.';

it('refuses the second claim carrying an already used approval with approval_required', async () => {
  const broker = await brokerFor(s.t, s.ws);
  const approval = await broker.recordApproval({
    tool: 'repo.apply_patch',
    args,
    sub: 'local-user',
    tenant: 'default',
    status: 'approved',
    decidedBy: 'reviewer',
  });
  const issue = () =>
    broker.issueClaim({
      tool: 'repo.apply_patch',
      args,
      sub: 'local-user',
      roles: ['admin'],
      tenant: 'default',
      approvalId: approval.id,
    });
  const [a, b] = [await issue(), await issue()];
  await expect(execute(s.t, 'repo.apply_patch', args, a.claim)).resolves.toMatchObject({
    result: { changed: ['a.txt'] },
  });
  await expectRefusal(execute(s.t, 'repo.apply_patch', args, b.claim), 'approval_required', USED);
  await expectRefusal(issue(), 'approval_required', /cannot be used for this call \(used\)/);
  await expectBenignSucceeds(s.t);
});

it('of 10 concurrent calls sharing one approval, exactly one runs', async () => {
  const broker = await brokerFor(s.t, s.ws);
  const approval = await broker.recordApproval({
    tool: 'repo.apply_patch',
    args,
    sub: 'local-user',
    tenant: 'default',
    status: 'approved',
    decidedBy: 'reviewer',
  });
  const claims = await Promise.all(
    Array.from({ length: 10 }, () =>
      broker.issueClaim({
        tool: 'repo.apply_patch',
        args,
        sub: 'local-user',
        roles: ['admin'],
        tenant: 'default',
        approvalId: approval.id,
      }),
    ),
  );
  const settled = await Promise.allSettled(
    claims.map((c) => execute(s.t, 'repo.apply_patch', args, c.claim)),
  );
  expect(settled.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  expect(
    settled.flatMap((r) => (r.status === 'rejected' ? [(r.reason as ToolcageError).code] : [])),
  ).toEqual(Array.from({ length: 9 }, () => 'approval_required'));
  await expectBenignSucceeds(s.t);
});
