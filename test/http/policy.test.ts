// Policy on arguments over HTTP: POST /v1/claims renders the scope from the arguments and applies
// Cedar conditions (a forbid names its policy id; the claim carries `pol`), and the runner's
// POST /v1/tools/{id}/invoke refuses a claim for repo:a presented with repo:b (scope_insufficient).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { apiKeyHash } from '../../src/identity/verifier.ts';
import { createBrokerService, type BrokerService } from '../../src/runtime/broker-service.ts';
import { loadSigningKey } from '../../src/claims/keys.ts';
import { writeSignedLock } from '../../src/registry/lock-build.ts';
import { loadConfig } from '../../src/config/load.ts';
import {
  invoke,
  makeWorkspace,
  memoryLogger,
  startRunner,
  type RunningRunner,
  type Workspace,
} from './helpers.ts';
import { addCommentTool, CEDAR } from '../helpers/comment-tool.ts';

const KEY = 'tck_paybot_0123456789';
let ws: Workspace;
let broker: BrokerService;
let url: string;
let runner: RunningRunner;

beforeAll(async () => {
  ws = await makeWorkspace({
    broker: {
      apiKeys: [
        {
          id: 'pay-bot',
          sha256: apiKeyHash(KEY),
          subject: 'pay-bot',
          roles: ['payments'],
          tenant: 'acme',
        },
      ],
    },
  });
  const manifests = join(ws.dir, 'tool-manifests');
  addCommentTool({ manifests });
  await writeSignedLock(
    manifests,
    await loadSigningKey(join(ws.dir, 'keys', 'registry.private.jwk.json')),
  );
  writeFileSync(join(ws.dir, 'broker-policy.cedar'), CEDAR);
  writeFileSync(
    join(ws.dir, 'broker-policy.yaml'),
    `roles:
  payments: { tools: ["github.comment_pr"], scopes: ["pr:comment", "repo:payments-api/*"] }
conditions: { cedarFile: broker-policy.cedar }
`,
  );
  ws.loaded = loadConfig(ws.configFile);
  broker = await createBrokerService(ws.loaded, { logger: memoryLogger().logger });
  url = await broker.listen({ host: '127.0.0.1', port: 0 });
  runner = await startRunner(ws);
});
afterAll(async () => {
  await runner?.close();
  await broker?.shutdown();
  ws?.cleanup();
});

const claim = async (args: unknown) => {
  const r = await fetch(`${url}/v1/claims`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': KEY, 'toolcage-session': 'conv-7' },
    body: JSON.stringify({ tool: 'github.comment_pr', args }),
  });
  return { status: r.status, body: (await r.json()) as Record<string, any> };
};

it('mints a claim carrying the rendered scope, the session and the decision record', async () => {
  const args = { repo: 'payments-api', pull: 184, meta: { path: 'docs/a.md' } };
  const r = await claim(args);
  expect(r.status).toBe(201);
  const p = decodeJwt(r.body.claim as string);
  expect(p).toMatchObject({
    scope: ['pr:comment', 'repo:payments-api/pull:184'],
    sid: 'conv-7',
    pol: { h: expect.stringMatching(/^sha256:[0-9a-f]{64}$/), ids: ['role:payments', 'base'] },
  });
  const ok = await invoke(runner.url, 'github.comment_pr', args, r.body.claim as string);
  expect(ok.status).toBe(200);
  expect(runner.audit.events.at(-1)).toMatchObject({
    session: 'conv-7',
    renderedScope: ['repo:payments-api/pull:184'],
    policy: { ids: ['role:payments', 'base'] },
  });
});

it('refuses by condition on a nested argument (403 policy_denied naming the policy)', async () => {
  const r = await claim({ repo: 'payments-api', pull: 1, meta: { path: 'src/x.ts' } });
  expect(r.status).toBe(403);
  expect(r.body.error).toMatchObject({
    code: 'policy_denied',
    message: expect.stringMatching(/The policy comment-docs-only forbids this call/),
  });
});

it('refuses a rendered scope outside the role, and an injected separator', async () => {
  const other = await claim({ repo: 'ledger', pull: 1, meta: { path: 'docs/x' } });
  expect(other.status).toBe(403);
  expect(other.body.error.message).toMatch(/may not be granted scope repo:ledger\/pull:1/);
  const injected = await claim({ repo: 'payments-api/pull:9', pull: 1, meta: { path: 'docs/x' } });
  expect(injected.status).toBe(422);
  expect(injected.body.error).toMatchObject({ code: 'input_invalid' });
});

it('the runner refuses a claim for repo:payments-api/pull:1 presented with pull 2', async () => {
  const r = await claim({ repo: 'payments-api', pull: 1, meta: { path: 'docs/x' } });
  const res = await invoke(
    runner.url,
    'github.comment_pr',
    { repo: 'payments-api', pull: 2, meta: { path: 'docs/x' } },
    r.body.claim as string,
  );
  expect(res.status).toBe(403);
  expect(res.body.error).toMatchObject({
    code: 'scope_insufficient',
    message: expect.stringMatching(/render the scope repo:payments-api\/pull:2/),
  });
});
