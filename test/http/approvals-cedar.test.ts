// Cedar decides who may approve, over HTTP: POST /v1/approvals/{id}/approve by an approver a Cedar
// forbid covers (a docs lead, a patch under src/) is 403 policy_denied naming the policy and leaves
// the request pending; another approver's approval is 200; a denial stays the role rule's; the
// audit file's approval_decided lines carry the policies that decided.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startCedarApprovalBroker } from './cedar-broker.ts';
import type { BrokerService } from '../../src/runtime/broker-service.ts';
import type { Workspace } from './helpers.ts';
import { PATCH_TOOL } from '../helpers/comment-tool.ts';

const KEYS = {
  dev: 'tck_dev_cedar_approve_0123456789',
  lead: 'tck_lead_cedar_approve_0123456789',
  alice: 'tck_alice_cedar_approve_0123456789',
};
let ws: Workspace;
let broker: BrokerService;
let url: string;

beforeAll(async () => {
  ({ ws, broker, url } = await startCedarApprovalBroker(KEYS));
});
afterAll(async () => {
  await broker?.shutdown();
  ws?.cleanup();
});

async function post(path: string, body: unknown, who: keyof typeof KEYS) {
  const r = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': KEYS[who] },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as Record<string, any> };
}

const open = async (args: unknown) => {
  const r = await post('/v1/approvals', { tool: PATCH_TOOL, args }, 'dev');
  expect(r.status).toBe(201);
  return r.body.id as string;
};

const decidedLines = (id: string) =>
  readFileSync(join(ws.dir, '.toolcage', 'audit.log'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => r.kind === 'approval_decided' && r.approvalId === id);

it('a docs lead cannot approve a src/ patch (403 naming the policy); alice can', async () => {
  const id = await open({ path: 'src/main.ts', line: 1, patch: '+x' });
  const refused = await post(`/v1/approvals/${id}/approve`, {}, 'lead');
  expect(refused.status).toBe(403);
  expect(refused.body.error).toMatchObject({
    code: 'policy_denied',
    message: expect.stringMatching(
      /The policy no-src-approval-by-docs-lead forbids approving this request for repo\.patch_file/,
    ),
  });
  const ok = await post(`/v1/approvals/${id}/approve`, {}, 'alice');
  expect(ok.status, JSON.stringify(ok.body)).toBe(200);
  expect(ok.body).toMatchObject({ id, status: 'approved' });
  expect(decidedLines(id)).toMatchObject([
    {
      approver: 'lead',
      errorCode: 'policy_denied',
      policy: { h: expect.stringMatching(/^sha256:/), ids: ['no-src-approval-by-docs-lead'] },
    },
    {
      approver: 'alice',
      decision: 'approved',
      policy: { ids: ['approver:approver', 'approvers'] },
    },
  ]);
});

it('the docs lead approves a docs/ patch, and may still deny a src/ one', async () => {
  const docs = await open({ path: 'docs/a.md', line: 1, patch: '+x' });
  expect((await post(`/v1/approvals/${docs}/approve`, {}, 'lead')).status).toBe(200);
  const src = await open({ path: 'src/b.ts', line: 1, patch: '+x' });
  const denied = await post(`/v1/approvals/${src}/deny`, { reason: 'not docs' }, 'lead');
  expect(denied.status, JSON.stringify(denied.body)).toBe(200);
  expect(denied.body).toMatchObject({ status: 'denied' });
});

it('an evaluation error refuses the approval (fail closed)', async () => {
  const id = await open({ path: 'docs/c.md', line: 9_300_000, patch: '+x' });
  const r = await post(`/v1/approvals/${id}/approve`, {}, 'alice');
  expect(r.status).toBe(403);
  expect(r.body.error).toMatchObject({
    code: 'policy_denied',
    message: expect.stringMatching(/approve-line-overflow: .*an evaluation error never allows/),
  });
});
