// Attack: one human approval, two claims carrying its id, each sent to a different runner replica, so
// that each replica's own bookkeeping sees the approval unused. Approvals are consumed atomically in
// the shared Redis (one Lua script), so the second replica refuses with approval_required.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BrokerRuntime } from '../../src/runtime/broker.ts';
import { deleteKeys, invoke, mint, openBroker, outcome, replicaWorkspace, SHARED_REDIS_URL, startReplica, uniquePrefix, type Replica, type Workspace } from '../replicas/helpers.ts';

const prefix = uniquePrefix('replica-approval');
let ws: Workspace;
let broker: BrokerRuntime;
let a: Replica;
let b: Replica;

beforeAll(async () => {
  ws = await replicaWorkspace({ url: SHARED_REDIS_URL, keyPrefix: prefix });
  broker = await openBroker(ws);
  [a, b] = await Promise.all([startReplica(ws, 'A'), startReplica(ws, 'B')]);
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await broker?.close();
  await deleteKeys(SHARED_REDIS_URL, prefix);
  ws?.cleanup();
});

const patch = (replace: string) => ({ files: { 'a.txt': 'hello world' }, edits: [{ path: 'a.txt', find: 'hello', replace }] });

it('an approval used on replica A cannot be used again on replica B', async () => {
  const args = patch('bye');
  const approval = await broker.broker.recordApproval({ tool: 'repo.apply_patch', args, sub: 'local-user', tenant: 'default', status: 'approved', decidedBy: 'reviewer' });
  const first = await mint(broker, 'repo.apply_patch', args, { approvalId: approval.id });
  const second = await mint(broker, 'repo.apply_patch', args, { approvalId: approval.id });
  const used = await invoke(a.url, 'repo.apply_patch', args, first.claim);
  expect(used.status).toBe(200);
  expect(used.body.result).toMatchObject({ changed: ['a.txt'], files: { 'a.txt': 'bye world' } });
  const refused = await invoke(b.url, 'repo.apply_patch', args, second.claim);
  expect(outcome(refused)).toEqual({ status: 403, code: 'approval_required' });
  expect(refused.body.error.message).toMatch(/already used; approvals are single-use/);
});

it('of two claims sharing one approval sent to A and B at once, exactly one runs', async () => {
  const args = patch('race');
  const approval = await broker.broker.recordApproval({ tool: 'repo.apply_patch', args, sub: 'local-user', tenant: 'default', status: 'approved', decidedBy: 'reviewer' });
  const claims = await Promise.all([0, 1, 2, 3].map(() => mint(broker, 'repo.apply_patch', args, { approvalId: approval.id })));
  const replies = await Promise.all(claims.map((c, i) => invoke((i % 2 === 0 ? a : b).url, 'repo.apply_patch', args, c.claim)));
  expect(replies.map(outcome).sort((x, y) => x.status - y.status)).toEqual([
    { status: 200, code: undefined },
    { status: 403, code: 'approval_required' },
    { status: 403, code: 'approval_required' },
    { status: 403, code: 'approval_required' },
  ]);
});
