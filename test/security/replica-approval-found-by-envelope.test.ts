// Attack (on availability and on the one-request rule): an agent's retries land on different broker
// replicas, and the approver's console on yet another. Without a shared request per envelope each
// replica would open its own pending request and an approval on B would never reach a retry on A.
// Requests live on the shared Redis, found by envelope: request on A, approve in B's console, retry
// on A gets the claim, and the runner runs it once.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../../src/cli/workspace.ts';
import { loadConfig } from '../../src/config/load.ts';
import { createBrokerService, type BrokerService } from '../../src/runtime/broker-service.ts';
import { apiKeyHash } from '../../src/identity/verifier.ts';
import {
  invoke,
  makeWorkspace,
  startRunner,
  type RunningRunner,
  type Workspace,
} from '../http/helpers.ts';
import { deleteKeys, SHARED_REDIS_URL, uniquePrefix } from '../replicas/helpers.ts';
import {
  collectProblems,
  launchChromium,
  signIn,
  type RunningBrowser,
} from '../console/browser.ts';

const prefix = uniquePrefix('replica-approval-envelope');
const AGENT = 'tck_replica_agent_0123456789';
const ALICE = 'tck_replica_alice_0123456789';
let ws: Workspace;
let a: BrokerService;
let b: BrokerService;
let urlA: string;
let urlB: string;
let runner: RunningRunner;
let chrome: RunningBrowser;

beforeAll(async () => {
  ws = await makeWorkspace(
    {
      state: { stores: 'redis', redis: { url: SHARED_REDIS_URL, keyPrefix: prefix } },
      broker: {
        apiKeys: [
          {
            id: 'agent',
            sha256: apiKeyHash(AGENT),
            subject: 'svc-agent',
            roles: ['admin'],
            tenant: 'acme',
          },
          {
            id: 'alice',
            sha256: apiKeyHash(ALICE),
            subject: 'alice',
            roles: ['approver'],
            tenant: 'acme',
          },
        ],
      },
    },
    { policy: DEFAULT_POLICY.replace('allowSelfApproval: true', 'allowSelfApproval: false') },
  );
  a = await createBrokerService(loadConfig(ws.configFile));
  b = await createBrokerService(loadConfig(ws.configFile));
  urlA = await a.listen({ host: '127.0.0.1', port: 0 });
  urlB = await b.listen({ host: '127.0.0.1', port: 0 });
  runner = await startRunner(ws);
  chrome = await launchChromium();
}, 60_000);

afterAll(async () => {
  await chrome?.close();
  await runner?.close();
  await a?.shutdown();
  await b?.shutdown();
  await deleteKeys(SHARED_REDIS_URL, prefix);
  ws?.cleanup();
});

async function claim(base: string, args: unknown) {
  const r = await fetch(`${base}/v1/claims`, {
    method: 'POST',
    headers: { 'x-api-key': AGENT, 'content-type': 'application/json' },
    body: JSON.stringify({ tool: 'repo.apply_patch', args }),
  });
  return { status: r.status, body: (await r.json()) as any };
}

it('request on A, the same call on B finds it, approve in B console, retry on A runs once', async () => {
  const args = {
    files: { 'a.txt': 'hello world' },
    edits: [{ path: 'a.txt', find: 'hello', replace: 'replicated' }],
  };
  const onA = await claim(urlA, args);
  expect(onA.body.error.code).toBe('approval_required');
  const id = onA.body.error.details.approvalId as string;
  const onB = await claim(urlB, args);
  expect(onB.body.error.details.approvalId).toBe(id);

  const ctx = await chrome.browser.newContext();
  const page = await ctx.newPage();
  const problems = collectProblems(page);
  await signIn(page, urlB, ALICE);
  await Promise.all([
    page.waitForURL(/done=approved/),
    page.click(`article[data-id="${id}"] button.approve`),
  ]);
  expect(problems).toEqual([]);
  await ctx.close();

  const retry = await claim(urlA, args);
  expect(retry.status).toBe(201);
  expect((await invoke(runner.url, 'repo.apply_patch', args, retry.body.claim)).status).toBe(200);
  // Used: the next identical call opens a new request instead of riding on the old approval.
  const after = await claim(urlB, args);
  expect(after.body.error.code).toBe('approval_required');
  expect(after.body.error.details.approvalId).not.toBe(id);
});
