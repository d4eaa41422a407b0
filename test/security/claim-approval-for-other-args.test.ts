// Attack: get a human to approve a harmless patch, then use that approval id in a claim for a different
// patch (or another subject or tenant). The approval is bound to tool, subject, tenant and args hash.
import { it } from 'vitest';
import { forge } from '../helpers/forge.ts';
import {
  brokerFor,
  execute,
  expectBenignSucceeds,
  expectRefusal,
  patchArgs,
  useRunner,
} from '../helpers/runner.ts';

const s = useRunner();
const scope = ['repo:write'];
const MISMATCH =
  'The approval was given for a different tool, subject, tenant, arguments or session. Ask a human to approve exactly this call, then mint a claim carrying the new approval id.';

it.each([
  ['other arguments', { args: patchArgs('rm -rf /') }],
  ['another subject', { sub: 'mallory' }],
  ['another tenant', { tenant: 'other-tenant' }],
])(
  'refuses an approval given for this patch when the claim is for %s',
  async (_what, change: { args?: unknown; sub?: string; tenant?: string }) => {
    const broker = await brokerFor(s.t, s.ws);
    const approval = await broker.recordApproval({
      tool: 'repo.apply_patch',
      args: patchArgs('hi'),
      sub: 'local-user',
      tenant: 'default',
      status: 'approved',
      decidedBy: 'reviewer',
    });
    const args = change.args ?? patchArgs('hi');
    const token = await forge(s.ws.brokerKey, {
      tool: 'repo.apply_patch',
      args,
      scope,
      approvalId: approval.id,
      ...(change.sub ? { sub: change.sub } : {}),
      ...(change.tenant ? { tenant: change.tenant } : {}),
    });
    await expectRefusal(
      execute(s.t, 'repo.apply_patch', args, token),
      'approval_required',
      MISMATCH,
    );
    await expectBenignSucceeds(s.t);
  },
);

it('the broker refuses to mint a claim carrying an approval for other arguments', async () => {
  const broker = await brokerFor(s.t, s.ws);
  const approval = await broker.recordApproval({
    tool: 'repo.apply_patch',
    args: patchArgs('hi'),
    sub: 'local-user',
    tenant: 'default',
    status: 'approved',
  });
  await expectRefusal(
    broker.issueClaim({
      tool: 'repo.apply_patch',
      args: patchArgs('evil'),
      sub: 'local-user',
      roles: ['admin'],
      tenant: 'default',
      approvalId: approval.id,
    }),
    'approval_required',
    `Approval ${approval.id} cannot be used for this call (mismatch): it must be for exactly this tool, subject, tenant, arguments and session. Call again without an approval id: a request for exactly this call is then opened (or found) for a human to approve.`,
  );
});
