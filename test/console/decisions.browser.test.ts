// The console's Decisions page against the documented audit search shape (GET /v1/audit): here
// served by a test client over the real audit lines the broker (approval requests and decisions)
// and the runner (the run) wrote. An approver finds the run of a high-risk call and follows it to
// the approval behind it: who approved, when.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../../src/cli/workspace.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { AuditQuery, AuditRecord, AuditSearchClient } from '../../src/console/audit-client.ts';
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
const AGENT = 'tck_decisions_agent_0123456789';
const ALICE = 'tck_decisions_alice_0123456789';
let ws: Workspace;
let broker: BrokerService;
let url: string;
let runner: RunningRunner;
let chrome: RunningBrowser;

/** The documented query over the lines both services wrote (newest first, no paging needed here). */
class LinesAuditSearch implements AuditSearchClient {
  async search(q: AuditQuery) {
    const file = join(ws.dir, '.toolcage', 'audit.log');
    const fromFile = existsSync(file)
      ? readFileSync(file, 'utf8')
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Record<string, unknown>)
      : [];
    const lines: Record<string, unknown>[] = [
      ...fromFile,
      ...runner.audit.events.map((e) => ({ ...e }) as Record<string, unknown>),
    ];
    const all = lines.map(
      (e) => ({ ...e, ts: String(e.time ?? new Date().toISOString()) }) as AuditRecord,
    );
    const match = (r: AuditRecord) =>
      (!q.tool || r.toolId === q.tool) &&
      (!q.subject || r.subject === q.subject) &&
      (!q.tenant || r.tenant === q.tenant) &&
      (!q.outcome || r.outcome === q.outcome) &&
      (!q.errorCode || r.errorCode === q.errorCode) &&
      (!q.requestId || r.requestId === q.requestId);
    return { records: all.filter(match).reverse(), nextCursor: null };
  }
}

beforeAll(async () => {
  const key = (id: string, k: string, subject: string, roles: string[]) => ({
    id,
    sha256: apiKeyHash(k),
    subject,
    roles,
    tenant: 'default',
  });
  ws = await makeWorkspace(
    {
      broker: {
        apiKeys: [
          key('agent', AGENT, 'svc-agent', ['admin']),
          key('alice', ALICE, 'alice', ['approver']),
        ],
      },
    },
    { policy: DEFAULT_POLICY.replace('allowSelfApproval: true', 'allowSelfApproval: false') },
  );
  runner = await startRunner(ws);
  broker = await createBrokerService(loadConfig(ws.configFile), {
    auditSearch: new LinesAuditSearch(),
  });
  url = await broker.listen({ host: '127.0.0.1', port: 0 });
  chrome = await launchChromium();
}, 60_000);

afterAll(async () => {
  await chrome?.close();
  await runner?.close();
  await broker?.shutdown();
  ws?.cleanup();
});

async function api(path: string, key: string, body: unknown) {
  const r = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'x-api-key': key, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as any };
}

it('from the run of an approved call to who approved it', async () => {
  const args = {
    files: { 'a.txt': 'one' },
    edits: [{ path: 'a.txt', find: 'one', replace: 'two' }],
  };
  const call = { tool: 'repo.apply_patch', args };
  const id = (await api('/v1/claims', AGENT, call)).body.error.details.approvalId as string;
  expect((await api(`/v1/approvals/${id}/approve`, ALICE, {})).status).toBe(200);
  const claim = (await api('/v1/claims', AGENT, call)).body.claim as string;
  expect((await invoke(runner.url, 'repo.apply_patch', args, claim)).status).toBe(200);
  await broker.runtime.audit.flush();

  const ctx = await chrome.browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await ctx.newPage();
  const problems = collectProblems(page);
  await signIn(page, url, ALICE);
  await page.goto(`${url}/console/decisions?tool=repo.apply_patch`);
  const rows = page.locator('table.decisions tbody tr');
  await expect(rows.count()).resolves.toBeGreaterThanOrEqual(3);
  const text = await page.locator('table.decisions').textContent();
  expect(text).toContain('approval requested');
  expect(text).toContain('approval approved');
  // The run: allowed; open its chain and follow the approval to who decided.
  const runRow = rows.filter({ hasText: 'allowed' }).filter({ hasNotText: 'approval' }).first();
  await Promise.all([page.waitForURL(/\/console\/decisions\/[^?]+$/), runRow.locator('a').click()]);
  await expect(page.locator('ol.chain').textContent()).resolves.toContain(id);
  await page.screenshot({ path: `${SHOTS}console-decision.png`, fullPage: true });
  await Promise.all([
    page.waitForURL(/\/console\/approvals\//),
    page.click(`a[href="/console/approvals/${id}"]`),
  ]);
  await expect(page.locator('.meta').textContent()).resolves.toMatch(/approved by alice/);
  expect(problems).toEqual([]);
  await ctx.close();
});
