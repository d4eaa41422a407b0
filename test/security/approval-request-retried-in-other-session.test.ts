// Attack: a human approved a high-risk call asked for in one agent session; the same call (same tool,
// subject, tenant, arguments) is retried from another session, or from none, hoping the durable
// request found by its envelope carries the approval over. Each session has its own request; only an
// approver's explicit any-session approval widens one, and it is still single use.
import { expect, it } from 'vitest';
import type { Actor } from '../../src/broker/approval-rules.ts';
import { ToolcageError } from '../../src/errors/toolcage-error.ts';
import { brokerFor, execute, expectRefusal, patchArgs, useRunner } from '../helpers/runner.ts';

const s = useRunner();
const reviewer: Actor = { subject: 'reviewer', roles: ['approver'], tenants: ['*'], via: 'test' };

function call(args: unknown, session?: string) {
  return {
    tool: 'repo.apply_patch',
    args,
    sub: 'local-user',
    roles: ['admin'],
    tenant: 'default',
    ...(session ? { session } : {}),
  };
}

async function requestId(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ToolcageError);
  expect((err as ToolcageError).code).toBe('approval_required');
  const id = (err as ToolcageError).details?.approvalId;
  expect(id).toMatch(/^apr_/);
  return id as string;
}

it('an approval of a call in session s1 does not let the same call run in s2 or outside a session', async () => {
  const broker = await brokerFor(s.t, s.ws);
  const args = patchArgs('session bound');
  const inS1 = await requestId(broker.issueClaim(call(args, 's1')));
  await broker.approvals.decide({ actor: reviewer, id: inS1, decision: 'approved' });

  // The same call elsewhere finds no approval: it opens (or finds) its own pending request.
  const inS2 = await requestId(broker.issueClaim(call(args, 's2')));
  expect(inS2).not.toBe(inS1);
  expect((await broker.approvals.get(inS2))!.status).toBe('pending');
  const outside = await requestId(broker.issueClaim(call(args)));
  expect([inS1, inS2]).not.toContain(outside);
  // Presenting s1's id from s2 is refused by the broker...
  await expectRefusal(
    broker.issueClaim({ ...call(args, 's2'), approvalId: inS1 }),
    'approval_required',
    /cannot be used for this call \(mismatch\): .*arguments and session/,
  );

  // ...while the retry in s1 runs, once.
  const { claim } = await broker.issueClaim(call(args, 's1'));
  await expect(execute(s.t, 'repo.apply_patch', args, claim)).resolves.toMatchObject({
    result: { changed: ['a.txt'] },
  });
  expect((await broker.approvals.get(inS1))!.status).toBe('used');
});

it('an approver may let one approval hold in any session; it is still single use', async () => {
  const broker = await brokerFor(s.t, s.ws);
  const args = patchArgs('any session');
  const id = await requestId(broker.issueClaim(call(args, 's4')));
  const { record } = await broker.approvals.decide({
    actor: reviewer,
    id,
    decision: 'approved',
    anySession: true,
  });
  expect(record).toMatchObject({ session: 's4', anySession: true });
  const { claim } = await broker.issueClaim({ ...call(args, 's5'), approvalId: id });
  await expect(execute(s.t, 'repo.apply_patch', args, claim)).resolves.toMatchObject({
    result: { changed: ['a.txt'] },
  });
  const again = await broker.issueClaim({ ...call(args, 's6'), approvalId: id }).catch((e) => e);
  expect(again).toMatchObject({ code: 'approval_required' });
});
