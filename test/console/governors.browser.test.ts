// The Governors page in a real Chromium, over the state the runner really keeps: an agent's calls
// through the broker and a runner on shared Redis spend budget, take tokens and repeat a call until
// the loop guard refuses and the breaker pauses the session. The operator sees it per tenant, says
// where the state comes from, and resumes the paused session (approvers only, CSRF-checked); viewers
// see it read-only; GET /v1/governors answers the same, for the caller's tenants only.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { DEFAULT_POLICY } from '../../src/cli/workspace.ts';
import { loadConfig } from '../../src/config/load.ts';
import { configuredAuditFiles } from '../../src/runtime/audit.ts';
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
import { collectProblems, launchChromium, signIn, type RunningBrowser } from './browser.ts';

const SHOTS = fileURLToPath(new URL('../../docs/screenshots/', import.meta.url));
const prefix = uniquePrefix('console-governors');
const KEYS = {
  agent: 'tck_gov_agent_0123456789',
  alice: 'tck_gov_alice_0123456789',
  victor: 'tck_gov_victor_0123456789',
  gina: 'tck_gov_gina_0123456789',
};

let ws: Workspace;
let broker: BrokerService;
let url: string;
let runner: RunningRunner;
let chrome: RunningBrowser;

beforeAll(async () => {
  const key = (id: string, k: string, subject: string, roles: string[], tenant = 'acme') => ({
    id,
    sha256: apiKeyHash(k),
    subject,
    roles,
    tenant,
  });
  ws = await makeWorkspace(
    {
      state: { stores: 'redis', redis: { url: SHARED_REDIS_URL, keyPrefix: prefix } },
      governors: {
        rateLimits: { principal: { capacity: 20, refillPerSecond: 0.01 } },
        spend: { budget: 100, windowSeconds: 3600 },
        loopGuard: { maxRepeats: 3, windowSeconds: 600 },
        breaker: { maxFailures: 2, windowSeconds: 600 },
      },
      broker: {
        apiKeys: [
          key('agent', KEYS.agent, 'svc-agent', ['admin']),
          key('alice', KEYS.alice, 'alice', ['approver']),
          key('victor', KEYS.victor, 'victor', ['viewer']),
          key('gina', KEYS.gina, 'gina', ['viewer'], 'globex'),
        ],
      },
    },
    { policy: DEFAULT_POLICY.replace('allowSelfApproval: true', 'allowSelfApproval: false') },
  );
  broker = await createBrokerService(loadConfig(ws.configFile));
  url = await broker.listen({ host: '127.0.0.1', port: 0 });
  runner = await startRunner(ws);
  chrome = await launchChromium();
}, 60_000);

afterAll(async () => {
  await chrome?.close();
  await runner?.close();
  await broker?.shutdown();
  await deleteKeys(SHARED_REDIS_URL, prefix);
  ws?.cleanup();
});

async function api(
  path: string,
  key: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const r = await fetch(`${url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      'x-api-key': key,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: r.status, body: (await r.json()) as any };
}

/** One call the way an agent makes it: a claim from the broker, then the runner, in a session. */
async function agentCall(text: string, session: string) {
  const args = { text };
  const c = await api(
    '/v1/claims',
    KEYS.agent,
    { tool: 'text.word_count', args },
    { 'toolcage-session': session },
  );
  if (c.status !== 201) return c;
  return invoke(runner.url, 'text.word_count', args, c.body.claim, {
    'toolcage-session': session,
  });
}

async function operator(
  key: string,
): Promise<{ ctx: BrowserContext; page: Page; problems: string[] }> {
  const ctx = await chrome.browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await ctx.newPage();
  const problems = collectProblems(page);
  await signIn(page, url, key);
  return { ctx, page, problems };
}

describe('Governors page (Chromium)', () => {
  it('shows the runner state per tenant; a viewer cannot resume; an approver resumes the paused session', async () => {
    expect((await agentCall('one two three', 'sess-busy')).status).toBe(200);
    expect((await agentCall('four five', 'sess-busy')).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await agentCall('again', 'sess-stuck')).status).toBe(200);
    // The 4th and 5th identical calls: loop guard refusals, which trip the session's breaker.
    for (let i = 0; i < 2; i++)
      expect((await agentCall('again', 'sess-stuck')).body.error.code).toBe('loop_detected');
    expect((await agentCall('other', 'sess-stuck')).body.error.code).toBe('session_paused');

    const viewer = await operator(KEYS.victor);
    await viewer.page.goto(`${url}/console/governors`);
    const acme = viewer.page.locator('section[data-tenant="acme"]');
    await expect(viewer.page.locator('.source').textContent()).resolves.toContain('Redis');
    await expect(acme.locator('.spend').textContent()).resolves.toMatch(/5 of 100 units/);
    await expect(acme.locator('table.loops').textContent()).resolves.toMatch(
      /svc-agent\s*text\.word_count[\s\S]*3 of 3/,
    );
    await expect(acme.locator('table.rate').textContent()).resolves.toContain('svc-agent');
    await expect(acme.locator('table.sessions').textContent()).resolves.toContain('sess-busy');
    const pausedRow = acme.locator('tr[data-session="sess-stuck"]');
    await expect(pausedRow.textContent()).resolves.toContain('loop_detected');
    await expect(pausedRow.locator('button.resume').count()).resolves.toBe(0);
    // The viewer forges the post with its own valid CSRF token: the role check refuses it.
    const csrf = await viewer.page.locator('input[name=csrf]').first().inputValue();
    const forged = await viewer.page.request.post(
      `${url}/console/governors/sessions/sess-stuck/resume`,
      { form: { csrf, tenant: 'acme' }, headers: { origin: url } },
    );
    expect(forged.status()).toBe(403);
    expect(viewer.problems).toEqual([]);
    await viewer.ctx.close();

    const { ctx, page, problems } = await operator(KEYS.alice);
    await page.goto(`${url}/console/governors`);
    await page.screenshot({ path: `${SHOTS}console-governors.png`, fullPage: true });
    await Promise.all([
      page.waitForURL(/resumed=sess-stuck/),
      page.click('tr[data-session="sess-stuck"] button.resume'),
    ]);
    await expect(page.locator('.banner.ok').textContent()).resolves.toContain('sess-stuck');
    await expect(page.locator('tr[data-session="sess-stuck"]').count()).resolves.toBe(0);
    expect((await agentCall('other', 'sess-stuck')).status).toBe(200);
    // The console's resume is a record on the trail, naming the approver.
    const trail = configuredAuditFiles(loadConfig(ws.configFile)).flatMap((f) =>
      readFileSync(f, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    );
    expect(trail.filter((r) => r.kind === 'session_resumed')).toEqual([
      expect.objectContaining({ origin: 'console', session: 'sess-stuck', outcome: 'ok' }),
    ]);
    expect(problems).toEqual([]);
    await ctx.close();
  });

  it('GET /v1/governors: operators only, their own tenants only', async () => {
    const mine = await api('/v1/governors', KEYS.victor);
    expect(mine.status).toBe(200);
    expect(mine.body.governors).toEqual({ store: 'redis', reportable: true, shared: true });
    expect(mine.body.tenants.map((t: { tenant: string }) => t.tenant)).toEqual(['acme']);
    const other = await api('/v1/governors', KEYS.gina);
    expect(other.body.tenants).toEqual([]);
    const crossTenant = await api('/v1/governors?tenant=acme', KEYS.gina);
    expect(crossTenant.status).toBe(403);
    const unknown = await api('/v1/governors?tenants=acme', KEYS.victor);
    expect(unknown.body.error.code).toBe('request_invalid');
    const agent = await api('/v1/governors', KEYS.agent);
    expect(agent.status).toBe(403);
    expect(agent.body.error.code).toBe('policy_denied');
  });
});
