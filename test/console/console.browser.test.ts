// The operator console in a real headless Chromium: sign in, see the exact arguments (and the diff of
// a repo.apply_patch), approve or deny with a reason, and the agent's plain retry gets the answer;
// roles decide who sees an approve button (and the API agrees); self-approval, a cross-site form post
// and any CSP violation are refused or reported.
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
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
import { collectProblems, launchChromium, signIn, type RunningBrowser } from './browser.ts';

const SHOTS = fileURLToPath(new URL('../../docs/screenshots/', import.meta.url));
const KEYS = {
  agent: 'tck_console_agent_0123456789',
  alice: 'tck_console_alice_0123456789',
  viewer: 'tck_console_viewer_0123456789',
  agentApprover: 'tck_console_self_0123456789',
};

let ws: Workspace;
let broker: BrokerService;
let url: string;
let runner: RunningRunner;
let chrome: RunningBrowser;
let evil: Server;
let evilUrl: string;

beforeAll(async () => {
  const key = (id: string, k: string, subject: string, roles: string[]) => ({
    id,
    sha256: apiKeyHash(k),
    subject,
    roles,
    tenant: 'acme',
  });
  ws = await makeWorkspace(
    {
      broker: {
        apiKeys: [
          key('agent', KEYS.agent, 'svc-agent', ['admin']),
          key('alice', KEYS.alice, 'alice', ['approver']),
          key('viewer', KEYS.viewer, 'victor', ['viewer']),
          key('agent-approver', KEYS.agentApprover, 'svc-agent', ['approver']),
        ],
      },
    },
    { policy: DEFAULT_POLICY.replace('allowSelfApproval: true', 'allowSelfApproval: false') },
  );
  broker = await createBrokerService(loadConfig(ws.configFile));
  url = await broker.listen({ host: '127.0.0.1', port: 0 });
  runner = await startRunner(ws);
  chrome = await launchChromium();
  // Another origin on the same host: a page there posts a form to the console.
  evil = createServer((req, res) => {
    const id = new URL(req.url ?? '/', 'http://x').searchParams.get('id') ?? '';
    res.setHeader('content-type', 'text/html');
    res.end(
      `<!doctype html><form method="post" action="${url}/console/approvals/${id}/approve"><input type="hidden" name="csrf" value="guess"><button id="go">win a prize</button></form>`,
    );
  });
  await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
  const addr = evil.address() as { port: number };
  evilUrl = `http://127.0.0.1:${addr.port}`;
}, 60_000);

afterAll(async () => {
  await chrome?.close();
  await new Promise<void>((r) => (evil ? evil.close(() => r()) : r()));
  await runner?.close();
  await broker?.shutdown();
  ws?.cleanup();
});

async function api(
  path: string,
  key: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any }> {
  const r = await fetch(`${url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      'x-api-key': key,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: r.status, body: await r.json() };
}
const claim = (args: unknown, session?: string) =>
  api(
    '/v1/claims',
    KEYS.agent,
    { tool: 'repo.apply_patch', args },
    session ? { 'toolcage-session': session } : {},
  );
const claimWith = (args: unknown, approvalId: string, session: string) =>
  api(
    '/v1/claims',
    KEYS.agent,
    { tool: 'repo.apply_patch', args, approvalId },
    { 'toolcage-session': session },
  );
const patch = (find: string, replace: string) => ({
  files: { 'README.md': `# Project\nhello world\nthe end\n` },
  edits: [{ path: 'README.md', find, replace }],
});

async function operator(
  key: string,
): Promise<{ ctx: BrowserContext; page: Page; problems: string[] }> {
  const ctx = await chrome.browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await ctx.newPage();
  const problems = collectProblems(page);
  await signIn(page, url, key);
  return { ctx, page, problems };
}

describe('operator console (Chromium)', () => {
  it('agent asks → operator sees the diff and approves → the agent retry runs; a second ask while pending opens nothing new', async () => {
    const args = patch('hello world', 'hello, approved world');
    const first = await claim(args);
    expect(first.status).toBe(403);
    expect(first.body.error.code).toBe('approval_required');
    const { approvalId, status, consoleUrl } = first.body.error.details;
    expect(status).toBe('pending');
    expect(consoleUrl).toBe(`http://127.0.0.1:8081/console/approvals/${approvalId}`);
    const again = await claim(args);
    expect(again.body.error.details.approvalId).toBe(approvalId);
    const listed = await api('/v1/approvals?status=pending&tool=repo.apply_patch', KEYS.alice);
    expect(
      listed.body.approvals.filter(
        (a: { argsHash: string }) =>
          a.argsHash ===
          listed.body.approvals.find((x: { id: string }) => x.id === approvalId).argsHash,
      ),
    ).toHaveLength(1);

    const { ctx, page, problems } = await operator(KEYS.alice);
    const card = page.locator(`article[data-id="${approvalId}"]`);
    await expect(card.locator('.tool').textContent()).resolves.toBe('repo.apply_patch');
    await expect(card.locator('.rm').first().textContent()).resolves.toContain('- hello world');
    await expect(card.locator('.add').first().textContent()).resolves.toContain(
      '+ hello, approved world',
    );
    await expect(card.locator('.diff-where').textContent()).resolves.toBe('line 2');
    await expect(card.locator('.meta').textContent()).resolves.toContain('svc-agent');
    await page.screenshot({ path: `${SHOTS}console-inbox.png`, fullPage: true });
    await page.goto(`${url}/console/approvals/${approvalId}`);
    await page.screenshot({ path: `${SHOTS}console-approval-detail.png`, fullPage: true });
    await Promise.all([
      page.waitForURL(/done=approved/),
      page.click(`article[data-id="${approvalId}"] button.approve`),
    ]);

    const retry = await claim(args);
    expect(retry.status).toBe(201);
    const ran = await invoke(runner.url, 'repo.apply_patch', args, retry.body.claim);
    expect(ran.status).toBe(200);
    expect(ran.body.result.files['README.md']).toContain('hello, approved world');
    expect(problems).toEqual([]);
    await ctx.close();
  });

  it('"for any session" is off by default: the approval holds in the asking session only; ticked, another session may use it once', async () => {
    const { ctx, page, problems } = await operator(KEYS.alice);
    const approveIn = async (approvalId: string, anySession: boolean) => {
      await page.goto(`${url}/console/approvals`);
      const card = page.locator(`article[data-id="${approvalId}"]`);
      const box = card.locator('input[name=anySession]');
      await expect(box.isChecked()).resolves.toBe(false);
      await expect(card.locator('.any-session').textContent()).resolves.toContain('session-one');
      if (anySession) await box.check();
      await Promise.all([page.waitForURL(/done=approved/), card.locator('button.approve').click()]);
    };

    // Left unticked: from another session the approval cannot be used, even by its id.
    const narrow = patch('hello world', 'session-bound world');
    const asked = (await claim(narrow, 'session-one')).body.error.details.approvalId as string;
    await approveIn(asked, false);
    expect((await api(`/v1/approvals/${asked}`, KEYS.alice)).body.anySession).toBeUndefined();
    const elsewhere = await claimWith(narrow, asked, 'session-two');
    expect(elsewhere.body.error).toMatchObject({
      code: 'approval_required',
      details: { reason: 'approval_mismatch' },
    });
    expect((await claim(narrow, 'session-one')).status).toBe(201);

    // Ticked: another session of the same agent gets its claim on that approval, once.
    const wide = patch('hello world', 'any-session world');
    const wideId = (await claim(wide, 'session-one')).body.error.details.approvalId as string;
    await approveIn(wideId, true);
    expect((await api(`/v1/approvals/${wideId}`, KEYS.alice)).body.anySession).toBe(true);
    const other = await claimWith(wide, wideId, 'session-two');
    expect(other.status).toBe(201);
    const ran = await invoke(runner.url, 'repo.apply_patch', wide, other.body.claim, {
      'toolcage-session': 'session-two',
    });
    expect(ran.status).toBe(200);
    // Used: single use holds across sessions too.
    const again = await claimWith(wide, wideId, 'session-three');
    expect(again.body.error.code).toBe('approval_required');
    expect(problems).toEqual([]);
    await ctx.close();
  });

  it('a denial with a reason reaches the agent', async () => {
    const args = patch('the end', 'rm -rf /');
    const { approvalId } = (await claim(args)).body.error.details;
    const { ctx, page, problems } = await operator(KEYS.alice);
    const card = page.locator(`article[data-id="${approvalId}"]`);
    await card.locator('input[name=reason]').fill('destructive: not in this repo');
    await Promise.all([page.waitForURL(/done=denied/), card.locator('button.deny').click()]);
    const refused = await claim(args);
    expect(refused.body.error).toMatchObject({
      code: 'approval_required',
      details: {
        approvalId,
        status: 'denied',
        reason: 'destructive: not in this repo',
        decidedBy: 'alice',
      },
    });
    expect(refused.body.error.message).toContain('destructive: not in this repo');
    expect(problems).toEqual([]);
    await ctx.close();
  });

  it('an operator without the approver role sees no approve button, and the API refuses too', async () => {
    const { approvalId } = (await claim(patch('# Project', '# Viewer'))).body.error.details;
    const { ctx, page, problems } = await operator(KEYS.viewer);
    const card = page.locator(`article[data-id="${approvalId}"]`);
    await expect(card.count()).resolves.toBe(1);
    await expect(card.locator('button.approve').count()).resolves.toBe(0);
    await expect(card.locator('.decide-why').textContent()).resolves.toMatch(/no approver role/);
    const r = await api(`/v1/approvals/${approvalId}/approve`, KEYS.viewer, {});
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('policy_denied');
    expect(problems).toEqual([]);
    await ctx.close();
  });

  it('self-approval is refused in the console and over the API', async () => {
    const { approvalId } = (await claim(patch('# Project', '# Mine'))).body.error.details;
    const { ctx, page } = await operator(KEYS.agentApprover);
    const card = page.locator(`article[data-id="${approvalId}"]`);
    await expect(card.locator('button.approve').count()).resolves.toBe(0);
    await expect(card.locator('.decide-why').textContent()).resolves.toMatch(
      /own approval request/,
    );
    const r = await api(`/v1/approvals/${approvalId}/approve`, KEYS.agentApprover, {});
    expect(r.body.error).toMatchObject({
      code: 'policy_denied',
      message: expect.stringMatching(/own/),
    });
    await ctx.close();
  });

  it('a cross-origin form post is refused (CSRF) and the request stays pending', async () => {
    const { approvalId } = (await claim(patch('hello world', 'csrf world'))).body.error.details;
    const { ctx, page } = await operator(KEYS.alice);
    await page.goto(`${evilUrl}/?id=${approvalId}`);
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().includes('/approve')),
      page.click('#go'),
    ]);
    expect([401, 403]).toContain(response.status());
    expect((await api(`/v1/approvals/${approvalId}`, KEYS.alice)).body.status).toBe('pending');
    await ctx.close();
  });

  it('the registry page lists tools with risk, scopes, lanes, pins and the lock signer; no CSP violation', async () => {
    const { ctx, page, problems } = await operator(KEYS.alice);
    await page.goto(`${url}/console/registry`);
    const row = page.locator('tr', { hasText: 'repo.apply_patch' });
    await expect(row.textContent()).resolves.toMatch(/high/);
    await expect(row.textContent()).resolves.toMatch(/repo:write/);
    await expect(page.locator('p.card code').first().textContent()).resolves.not.toBe('unsigned');
    await page.screenshot({ path: `${SHOTS}console-registry.png`, fullPage: true });
    const csp = (await page.request.get(`${url}/console/registry`)).headers()[
      'content-security-policy'
    ];
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(problems).toEqual([]);
    await ctx.close();
  });
});
