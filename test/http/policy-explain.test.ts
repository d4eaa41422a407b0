// POST /v1/policy/explain over real HTTP (fetch to a listening broker): an approver gets the very
// decision object `toolcage policy explain` prints (compared with the CLI's stdout), for a call and
// for approving one, allowed or not, naming the deciding policies; nothing is minted or recorded;
// an agent (no approver or viewer role) is refused, as is another tenant and an unknown body key.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { pinCedarApprovalTools } from './cedar-broker.ts';
import { apiKeyHash } from '../../src/identity/verifier.ts';
import { createBrokerService, type BrokerService } from '../../src/runtime/broker-service.ts';
import { loadConfig } from '../../src/config/load.ts';
import { makeWorkspace, memoryLogger, type Workspace } from './helpers.ts';
import { runCli } from '../helpers/cli.ts';
import { PATCH_TOOL } from '../helpers/comment-tool.ts';

vi.setConfig({ testTimeout: 60_000 });

const KEYS = {
  bot: 'tck_bot_policy_explain_0123456789',
  alice: 'tck_alice_policy_explain_0123456789',
  lead: 'tck_lead_policy_explain_0123456789',
};
let ws: Workspace;
let broker: BrokerService;
let url: string;

beforeAll(async () => {
  const key = (id: string, k: string, subject: string, roles: string[]) => ({
    id,
    sha256: apiKeyHash(k),
    subject,
    roles,
    tenant: 'acme',
  });
  ws = await makeWorkspace({
    broker: {
      apiKeys: [
        key('bot', KEYS.bot, 'pay-bot', ['payments']),
        key('alice', KEYS.alice, 'alice', ['approver']),
        key('lead', KEYS.lead, 'lead', ['approver', 'docs-lead']),
      ],
    },
  });
  await pinCedarApprovalTools(
    ws,
    `roles:
  admin: { tools: ["*"] }
  payments: { tools: ["github.comment_pr", ${JSON.stringify(PATCH_TOOL)}], scopes: ["pr:comment", "repo:payments-api/*", "repo:write"] }
approvers:
  approver: { tools: ["*"] }
  docs-lead: { tools: ["*"] }
principals:
  pay-bot: [payments]
  lead: [approver, docs-lead]
conditions: { cedarFile: broker-policy.cedar }
`,
  );
  ws.loaded = loadConfig(ws.configFile);
  broker = await createBrokerService(ws.loaded, { logger: memoryLogger().logger });
  url = await broker.listen({ host: '127.0.0.1', port: 0 });
}, 60_000);
afterAll(async () => {
  await broker?.shutdown();
  ws?.cleanup();
});

async function explain(body: unknown, who: keyof typeof KEYS) {
  const r = await fetch(`${url}/v1/policy/explain`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': KEYS[who] },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as Record<string, any> };
}

const auditLines = () => {
  try {
    return readFileSync(join(ws.dir, '.toolcage', 'audit.log'), 'utf8')
      .trim()
      .split('\n').length;
  } catch {
    return 0;
  }
};

const docsArgs = { repo: 'payments-api', pull: 3, meta: { path: 'docs/x' } };

it('an approver gets the CLI’s decision object for a call, allowed or refused, and nothing is minted', async () => {
  const before = auditLines();
  const ok = await explain(
    { tool: 'github.comment_pr', args: docsArgs, sub: 'pay-bot', session: 'conv-9' },
    'alice',
  );
  expect(ok.status).toBe(200);
  expect(ok.body).toMatchObject({
    sub: 'pay-bot',
    roles: ['payments'],
    allowed: true,
    tool: 'github.comment_pr',
    renderedScope: ['repo:payments-api/pull:3'],
    cedar: { decision: 'allow', policies: ['base'], errors: [] },
    pol: { h: expect.stringMatching(/^sha256:[0-9a-f]{64}$/), ids: ['role:payments', 'base'] },
  });
  // The same object `toolcage policy explain` prints for the same question.
  writeFileSync(join(ws.dir, 'docs-args.json'), JSON.stringify(docsArgs));
  const cli = await runCli(
    [
      'policy',
      'explain',
      '--tool',
      'github.comment_pr',
      '--args',
      'docs-args.json',
      '--sub',
      'pay-bot',
      '--tenant',
      'acme',
      '--session',
      'conv-9',
      '--config',
      ws.configFile,
    ],
    { cwd: ws.dir },
  );
  expect(cli.code, cli.stderr).toBe(0);
  expect(ok.body).toEqual(JSON.parse(cli.stdout));

  const no = await explain(
    { tool: 'github.comment_pr', args: { ...docsArgs, meta: { path: 'src/x' } }, sub: 'pay-bot' },
    'alice',
  );
  expect(no.status).toBe(200);
  expect(no.body).toMatchObject({
    allowed: false,
    error: { code: 'policy_denied', message: expect.stringMatching(/comment-docs-only forbids/) },
    cedar: { decision: 'deny', policies: ['comment-docs-only'] },
  });
  // An evaluation error is an explained refusal naming the policy, never an allow.
  const overflow = await explain(
    { tool: 'github.comment_pr', args: { ...docsArgs, pull: 2 ** 52 }, sub: 'pay-bot' },
    'alice',
  );
  expect(overflow.body).toMatchObject({
    allowed: false,
    cedar: { decision: 'deny', errors: [{ policyId: 'pull-overflow' }] },
  });
  expect(auditLines()).toBe(before);
});

it('explains approving: the docs lead may not approve a src/ patch, alice may', async () => {
  const args = { path: 'src/main.ts', line: 1, patch: '+x' };
  const lead = await explain(
    { tool: PATCH_TOOL, args, sub: 'pay-bot', action: 'approve', approver: 'lead' },
    'alice',
  );
  expect(lead.status).toBe(200);
  expect(lead.body).toMatchObject({
    action: 'approve',
    approver: 'lead',
    approverRoles: ['approver', 'docs-lead'],
    allowed: false,
    error: { code: 'policy_denied' },
    cedar: { decision: 'deny', policies: ['no-src-approval-by-docs-lead'] },
  });
  // The caller itself is the approver by default.
  const self = await explain(
    { tool: PATCH_TOOL, args, sub: 'pay-bot', action: 'approve' },
    'alice',
  );
  expect(self.body).toMatchObject({
    approver: 'alice',
    allowed: true,
    pol: { ids: ['approver:approver', 'approvers'] },
  });
});

it('an agent without an approver or viewer role is refused; so are another tenant and unknown keys', async () => {
  const agent = await explain({ tool: 'github.comment_pr', args: docsArgs }, 'bot');
  expect(agent.status).toBe(403);
  expect(agent.body.error).toMatchObject({
    code: 'policy_denied',
    message: expect.stringMatching(/needs an approver role \(.*approver.*\) or a viewer role/),
  });
  const tenant = await explain(
    { tool: 'github.comment_pr', args: docsArgs, tenant: 'other' },
    'alice',
  );
  expect(tenant.status).toBe(403);
  expect(tenant.body.error.message).toMatch(/cannot act for tenant other/);
  const bad = await explain({ tool: 'github.comment_pr', args: docsArgs, mint: true }, 'alice');
  expect(bad.status).toBe(400);
  expect(bad.body.error.code).toBe('request_invalid');
  const anon = await fetch(`${url}/v1/policy/explain`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ tool: 'github.comment_pr', args: docsArgs }),
  });
  expect(anon.status).toBe(401);
});
