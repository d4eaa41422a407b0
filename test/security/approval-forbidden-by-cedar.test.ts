// Attack: an approver whose role lets them approve the tool, but whom a Cedar policy forbids from
// approving this request (a docs lead approving a patch under src/), approves it anyway, hoping the
// role rule alone decides; or the request's arguments make a forbid fail to evaluate (an overflow),
// hoping Cedar's "skip the erroring policy, the permit still allows" lets the approval through.
// Both are refused (`policy_denied`, naming the policy), the request stays pending, no claim can
// be minted for the call, and the refused attempt is on the trail with the policies that decided.
import { expect, it } from 'vitest';
import type { Actor } from '../../src/broker/approval-rules.ts';
import { ToolcageError } from '../../src/errors/toolcage-error.ts';
import { createBrokerRuntime } from '../../src/runtime/broker.ts';
import { expectRefusal, useRunner } from '../helpers/runner.ts';
import {
  addCommentTool,
  addPatchFileTool,
  APPROVE_CEDAR,
  APPROVER_POLICY_EXTRA,
  CEDAR,
  PATCH_TOOL,
  writeCedar,
} from '../helpers/comment-tool.ts';

const s = useRunner(async (ws) => {
  addCommentTool(ws);
  addPatchFileTool(ws);
  writeCedar(ws, `${CEDAR}\n${APPROVE_CEDAR}`, APPROVER_POLICY_EXTRA);
  await ws.relock();
});

/** The workspace's broker, recording into the runner's in-memory audit sink. */
const brokerFor = async () =>
  (
    await createBrokerRuntime(s.ws.loaded, {
      stores: s.t.runner.stores,
      registry: s.t.runner.registry,
      audit: s.t.audit,
    })
  ).broker;

/** The approval_decided records of one request, in order. */
const decisions = (id: string) =>
  s.t.audit.entries.filter(
    (e) => (e as { kind?: string }).kind === 'approval_decided' && e.approvalId === id,
  );

const lead: Actor = {
  subject: 'lead',
  roles: ['approver', 'docs-lead'],
  tenants: ['*'],
  via: 'test',
};
const alice: Actor = { subject: 'alice', roles: ['approver'], tenants: ['*'], via: 'test' };

const call = (args: unknown) => ({
  tool: PATCH_TOOL,
  args,
  sub: 'dev',
  roles: ['admin'],
  tenant: 'default',
});

async function pendingRequest(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ToolcageError);
  expect((err as ToolcageError).code).toBe('approval_required');
  return (err as ToolcageError).details!.approvalId as string;
}

it('an approver a Cedar forbid covers cannot approve a src/ patch; another approver can', async () => {
  const broker = await brokerFor();
  const args = { path: 'src/main.ts', line: 3, patch: '-a\n+b' };
  const id = await pendingRequest(broker.issueClaim(call(args)));

  await expectRefusal(
    broker.approvals.decide({ actor: lead, id, decision: 'approved' }),
    'policy_denied',
    /The policy no-src-approval-by-docs-lead forbids approving this request for repo\.patch_file/,
  );
  expect((await broker.approvals.get(id))!.status).toBe('pending');
  // The call still gets no claim: it waits for an approval nobody gave.
  await expectRefusal(broker.issueClaim(call(args)), 'approval_required', /pending/);
  expect(decisions(id).at(-1)).toMatchObject({
    kind: 'approval_decided',
    approvalId: id,
    approver: 'lead',
    decision: 'approved',
    errorCode: 'policy_denied',
    policy: { h: broker.policyHash, ids: ['no-src-approval-by-docs-lead'] },
  });

  // A denial is the role rule's alone: the docs lead may still refuse the patch.
  // Another approver, whom no forbid covers, approves; the record names what decided.
  const decided = await broker.approvals.decide({ actor: alice, id, decision: 'approved' });
  expect(decided.record.status).toBe('approved');
  expect(decisions(id).at(-1)).toMatchObject({
    kind: 'approval_decided',
    approvalId: id,
    approver: 'alice',
    decision: 'approved',
    policy: { h: broker.policyHash, ids: ['approver:approver', 'approvers'] },
  });
  expect(decisions(id).at(-1)).not.toHaveProperty('errorCode');
  expect(decisions(id)).toHaveLength(2);
  await expect(broker.issueClaim(call(args))).resolves.toMatchObject({ jti: expect.any(String) });
});

it('the docs lead approves a docs/ patch, and may deny a src/ one', async () => {
  const broker = await brokerFor();
  const docs = await pendingRequest(
    broker.issueClaim(call({ path: 'docs/a.md', line: 1, patch: '+x' })),
  );
  await expect(
    broker.approvals.decide({ actor: lead, id: docs, decision: 'approved' }),
  ).resolves.toMatchObject({ record: { status: 'approved' } });
  const src = await pendingRequest(
    broker.issueClaim(call({ path: 'src/b.ts', line: 1, patch: '+x' })),
  );
  await expect(
    broker.approvals.decide({ actor: lead, id: src, decision: 'denied', reason: 'not docs' }),
  ).resolves.toMatchObject({ record: { status: 'denied' } });
});

it('a forbid that fails to evaluate never lets the approval through (fail closed)', async () => {
  const broker = await brokerFor();
  // line * 10^12 overflows a Cedar Long: the forbid errors, and Cedar alone would answer Allow
  // (the `approvers` permit matches, an erroring policy is skipped).
  const args = { path: 'docs/c.md', line: 9_300_000, patch: '+x' };
  const id = await pendingRequest(broker.issueClaim(call(args)));
  await expectRefusal(
    broker.approvals.decide({ actor: alice, id, decision: 'approved' }),
    'policy_denied',
    /could not be evaluated for approving this request for repo\.patch_file \(approve-line-overflow: .*overflow.*\); an evaluation error never allows/,
  );
  expect((await broker.approvals.get(id))!.status).toBe('pending');
  expect(decisions(id)).toHaveLength(1);
  expect(decisions(id)[0]).toMatchObject({
    kind: 'approval_decided',
    errorCode: 'policy_denied',
    policy: { ids: ['approve-line-overflow'] },
  });
});
