// Attack: call a high-risk tool (repo.apply_patch) with a claim that carries no approval id, or an
// approval id nobody recorded, or one still pending / denied.
import { expect, it } from 'vitest';
import { CLI_HINTS } from '../../src/cli/hints.ts';
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
const scope = ['repo:write'];
const ASK =
  'Ask a human to approve exactly this call, then mint a claim carrying the new approval id.';

it('refuses a high-risk call whose claim has no approval_id with approval_required', async () => {
  const token = await forge(s.ws.brokerKey, { tool: 'repo.apply_patch', args, scope });
  const e = await expectRefusal(
    execute(s.t, 'repo.apply_patch', args, token),
    'approval_required',
    'This is a high-risk tool: a human approval for exactly this call is required. Ask a human for one, then mint a claim carrying its id.',
  );
  expect(e.status).toBe(403);
  // The core names no command; the CLI adds the one that records an approval.
  expect(e.hint).toEqual({ kind: 'request_approval' });
  expect(e.messageFor(CLI_HINTS)).toMatch(
    /its id\. A human approves it with `toolcage broker approve --tool ID --args FILE --sub S`\.$/,
  );
  await expectBenignSucceeds(s.t);
});

it('refuses an approval id nobody recorded', async () => {
  const token = await forge(s.ws.brokerKey, {
    tool: 'repo.apply_patch',
    args,
    scope,
    approvalId: 'apr_invented',
  });
  const e = await expectRefusal(
    execute(s.t, 'repo.apply_patch', args, token),
    'approval_required',
    `The approval id in the claim is unknown. ${ASK}`,
  );
  expect(e.hint).toEqual({ kind: 'request_approval' });
  await expectBenignSucceeds(s.t);
});

it('refuses an approval still pending, and one denied', async () => {
  const broker = await brokerFor(s.t, s.ws);
  const pending = await broker.recordApproval({
    tool: 'repo.apply_patch',
    args,
    sub: 'local-user',
    tenant: 'default',
    status: 'pending',
  });
  await expectRefusal(
    execute(
      s.t,
      'repo.apply_patch',
      args,
      await forge(s.ws.brokerKey, {
        tool: 'repo.apply_patch',
        args,
        scope,
        approvalId: pending.id,
      }),
    ),
    'approval_required',
    `The approval request is still pending; a human must approve it first. ${ASK}`,
  );
  await broker.approvals.decide({
    actor: { subject: 'reviewer', roles: ['approver'], tenants: ['*'], via: 'test' },
    id: pending.id,
    decision: 'denied',
    reason: 'not this patch',
  });
  await expectRefusal(
    execute(
      s.t,
      'repo.apply_patch',
      args,
      await forge(s.ws.brokerKey, {
        tool: 'repo.apply_patch',
        args,
        scope,
        approvalId: pending.id,
      }),
    ),
    'approval_required',
    `The approval request was denied. ${ASK}`,
  );
  await expectBenignSucceeds(s.t);
});

it('the broker refuses to mint a high-risk claim without approval', async () => {
  const broker = await brokerFor(s.t, s.ws);
  await expectRefusal(
    broker.issueClaim({
      tool: 'repo.apply_patch',
      args: patchArgs('never approved'),
      sub: 'local-user',
      roles: ['admin'],
      tenant: 'default',
    }),
    'approval_required',
    /repo.apply_patch needs a human's approval of exactly this call. Approval request apr_\S+ is pending/,
  );
});

it('with an approval for exactly this call, the call runs', async () => {
  const broker = await brokerFor(s.t, s.ws);
  const approval = await broker.recordApproval({
    tool: 'repo.apply_patch',
    args,
    sub: 'local-user',
    tenant: 'default',
    status: 'approved',
    decidedBy: 'reviewer',
  });
  const { claim } = await broker.issueClaim({
    tool: 'repo.apply_patch',
    args,
    sub: 'local-user',
    roles: ['admin'],
    tenant: 'default',
    approvalId: approval.id,
  });
  await expect(execute(s.t, 'repo.apply_patch', args, claim)).resolves.toMatchObject({
    result: { files: { 'a.txt': 'bye world' }, changed: ['a.txt'], errors: [] },
  });
  expect(s.t.audit.events.at(-1)).toMatchObject({ outcome: 'allowed', approvalId: approval.id });
});
