// Attack: use an approval after its lifetime (given yesterday for a patch that has since become dangerous).
import { it } from 'vitest';
import { argsHash } from '../../src/util/hash.ts';
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
const args = patchArgs();
const EXPIRED =
  'The approval has expired. Ask a human to approve exactly this call, then mint a claim carrying the new approval id.';

it('refuses an approval recorded past its 900 s lifetime with approval_required', async () => {
  // The broker's clock is an hour behind: the approval it records expired 45 minutes ago.
  const broker = await brokerFor(s.t, s.ws, () => Date.now() - 3600_000);
  const approval = await broker.recordApproval({
    tool: 'repo.apply_patch',
    args,
    sub: 'local-user',
    tenant: 'default',
    status: 'approved',
    decidedBy: 'reviewer',
  });
  const token = await forge(s.ws.brokerKey, {
    tool: 'repo.apply_patch',
    args,
    scope: ['repo:write'],
    approvalId: approval.id,
  });
  await expectRefusal(execute(s.t, 'repo.apply_patch', args, token), 'approval_required', EXPIRED);
  await expectBenignSucceeds(s.t);
});

it('refuses an approval one millisecond past its expiry', async () => {
  await s.t.runner.stores.approvals.create({
    id: 'apr_edge',
    tool: 'repo.apply_patch',
    sub: 'local-user',
    tenant: 'default',
    argsHash: argsHash(args),
    status: 'approved',
    createdAtMs: Date.now() - 900_001,
    expiresAtMs: Date.now() - 1,
  });
  const token = await forge(s.ws.brokerKey, {
    tool: 'repo.apply_patch',
    args,
    scope: ['repo:write'],
    approvalId: 'apr_edge',
  });
  await expectRefusal(execute(s.t, 'repo.apply_patch', args, token), 'approval_required', EXPIRED);
  await expectBenignSucceeds(s.t);
});
