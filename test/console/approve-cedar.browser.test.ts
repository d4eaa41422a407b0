// The console asks Cedar before it offers Approve: on a request's page, an approver whom a Cedar
// forbid covers (a docs lead, a patch under src/) sees no Approve button but the refusal and the
// deciding policy id, and may still deny; an approver Cedar allows sees the button and approving
// works; a forbid that cannot be evaluated shows its policy id and no button. The page runs the
// same decision as the approve route (ApprovalService.explainApprove → decideApprove).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startCedarApprovalBroker } from '../http/cedar-broker.ts';
import type { Page } from 'playwright-core';
import type { BrokerService } from '../../src/runtime/broker-service.ts';
import type { Workspace } from '../http/helpers.ts';
import { PATCH_TOOL } from '../helpers/comment-tool.ts';
import { collectProblems, launchChromium, signIn, type RunningBrowser } from './browser.ts';

const KEYS = {
  dev: 'tck_dev_console_cedar_0123456789',
  lead: 'tck_lead_console_cedar_0123456789',
  alice: 'tck_alice_console_cedar_0123456789',
};
let ws: Workspace;
let broker: BrokerService;
let url: string;
let chrome: RunningBrowser;

beforeAll(async () => {
  ({ ws, broker, url } = await startCedarApprovalBroker(KEYS));
  chrome = await launchChromium();
}, 60_000);

afterAll(async () => {
  await chrome?.close();
  await broker?.shutdown();
  ws?.cleanup();
});

async function open(args: unknown): Promise<string> {
  const r = await fetch(`${url}/v1/approvals`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': KEYS.dev },
    body: JSON.stringify({ tool: PATCH_TOOL, args }),
  });
  const body = (await r.json()) as { id: string };
  expect(r.status, JSON.stringify(body)).toBe(201);
  return body.id;
}

async function as(who: keyof typeof KEYS, fn: (page: Page) => Promise<void>): Promise<void> {
  const ctx = await chrome.browser.newContext({ viewport: { width: 1200, height: 900 } });
  try {
    const page = await ctx.newPage();
    const problems = collectProblems(page);
    await signIn(page, url, KEYS[who]);
    await fn(page);
    expect(problems).toEqual([]);
  } finally {
    await ctx.close();
  }
}

it('a docs lead sees the refusal and the deciding policy, no Approve button; alice approves', async () => {
  const id = await open({ path: 'src/main.ts', line: 1, patch: '+x' });
  await as('lead', async (page) => {
    await page.goto(`${url}/console/approvals/${id}`);
    const card = page.locator(`article[data-id="${id}"]`);
    await expect(card.locator('button.approve').count()).resolves.toBe(0);
    await expect(card.locator('.approve-refused').textContent()).resolves.toMatch(
      /The policy no-src-approval-by-docs-lead forbids approving this request for repo\.patch_file/,
    );
    await expect(
      card.locator('.approve-refused code.policy-id').allTextContents(),
    ).resolves.toEqual(['no-src-approval-by-docs-lead']);
    // Denying needs only the role rule: the form is still there.
    await expect(card.locator('button.deny').count()).resolves.toBe(1);
    // The inbox shows the same.
    await page.goto(`${url}/console/approvals`);
    await expect(page.locator(`article[data-id="${id}"] button.approve`).count()).resolves.toBe(0);
  });
  await as('alice', async (page) => {
    await page.goto(`${url}/console/approvals/${id}`);
    const card = page.locator(`article[data-id="${id}"]`);
    await expect(card.locator('.approve-refused').count()).resolves.toBe(0);
    await Promise.all([page.waitForURL(/done=approved/), card.locator('button.approve').click()]);
  });
  const r = await fetch(`${url}/v1/approvals/${id}`, { headers: { 'x-api-key': KEYS.alice } });
  expect(((await r.json()) as { status: string }).status).toBe('approved');
});

it('the docs lead gets the button for a docs/ patch', async () => {
  const id = await open({ path: 'docs/a.md', line: 1, patch: '+x' });
  await as('lead', async (page) => {
    await page.goto(`${url}/console/approvals/${id}`);
    await expect(page.locator(`article[data-id="${id}"] button.approve`).count()).resolves.toBe(1);
  });
});

it('a forbid that cannot be evaluated shows its policy id and no button (fail closed)', async () => {
  const id = await open({ path: 'docs/c.md', line: 9_300_000, patch: '+x' });
  await as('alice', async (page) => {
    await page.goto(`${url}/console/approvals/${id}`);
    const card = page.locator(`article[data-id="${id}"]`);
    await expect(card.locator('button.approve').count()).resolves.toBe(0);
    await expect(card.locator('.approve-refused').textContent()).resolves.toMatch(
      /could not be evaluated/,
    );
    await expect(
      card.locator('.approve-refused code.policy-id').allTextContents(),
    ).resolves.toEqual(['approve-line-overflow']);
  });
});
