// The broker service records its decisions (mints, refusals, approvals, start/stop) on the trail and
// serves it at GET /v1/audit to audit readers only, filtered, paged by cursor, scoped to their tenants.
// Its operator log lines carry requestId once (strict JSON parsers reject duplicate keys).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { apiKeyHash } from '../../src/identity/verifier.ts';
import { createBrokerService, type BrokerService } from '../../src/runtime/broker-service.ts';
import { makeWorkspace, memoryLogger, type Workspace } from './helpers.ts';
import { CANARY_MARK } from '../helpers/canaries.ts';

const KEYS = {
  admin: `tck_admin_audit_${CANARY_MARK}_0123456789`,
  auditor: `tck_auditor_audit_${CANARY_MARK}_0123456789`,
  auditorB: `tck_auditorb_audit_${CANARY_MARK}_0123456789`,
  approver: `tck_approver_audit_${CANARY_MARK}_0123456789`,
};
const key = (id: string, secret: string, subject: string, roles: string[], tenant: string) => ({
  id,
  sha256: apiKeyHash(secret),
  subject,
  roles,
  tenant,
});

let ws: Workspace;
let broker: BrokerService;
let url: string;
let logs: string[];

beforeAll(async () => {
  ws = await makeWorkspace({
    broker: {
      apiKeys: [
        key('admin', KEYS.admin, 'svc-admin', ['admin'], 'acme'),
        key('auditor', KEYS.auditor, 'carol', ['auditor'], 'acme'),
        key('auditor-b', KEYS.auditorB, 'dave', ['auditor'], 'globex'),
        key('approver', KEYS.approver, 'alice', ['approver'], 'acme'),
      ],
    },
  });
  const { logger, lines } = memoryLogger();
  logs = lines;
  broker = await createBrokerService(ws.loaded, { logger });
  url = await broker.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await broker?.shutdown();
  ws?.cleanup();
});

const post = (path: string, apiKey: string | undefined, body: unknown) =>
  fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(apiKey ? { 'x-api-key': apiKey } : {}) },
    body: JSON.stringify(body),
  });
const get = (query: string, apiKey: string) =>
  fetch(`${url}/v1/audit${query}`, { headers: { 'x-api-key': apiKey } });

it('records mints and refusals with their deciding role, and serves them to auditors only', async () => {
  const ok = await post('/v1/claims', KEYS.admin, {
    tool: 'text.word_count',
    args: { text: 'a b' },
  });
  expect(ok.status).toBe(201);
  const { jti } = (await ok.json()) as { jti: string };
  expect(
    (await post('/v1/claims', 'tck_wrong_key_000000000', { tool: 'x', args: {} })).status,
  ).toBe(401);
  expect(
    (
      await post('/v1/claims', KEYS.admin, {
        tool: 'text.word_count',
        args: {},
        ttlSeconds: 86_000,
      })
    ).status,
  ).toBe(403);

  expect((await get('', KEYS.admin)).status).toBe(403);
  const byJti = (await (await get(`?jti=${jti}`, KEYS.auditor)).json()) as {
    records: Array<Record<string, unknown>>;
    nextCursor: string | null;
  };
  expect(byJti.records).toHaveLength(1);
  expect(byJti.records[0]).toMatchObject({
    kind: 'claim_minted',
    origin: 'http',
    subject: 'svc-admin',
    tenant: 'acme',
    rule: 'role:admin',
    via: 'api_key:admin',
    jti,
    requestId: expect.any(String),
    chain: expect.stringMatching(/^broker\./),
    seq: expect.any(Number),
    prev: expect.any(String),
  });

  const refusals = (await (await get('?outcome=refused', KEYS.auditor)).json()) as {
    records: Array<Record<string, unknown>>;
  };
  // The unauthenticated refusal has no tenant: an auditor of one tenant does not see it.
  expect(refusals.records.map((r) => r.errorCode)).toEqual(['policy_denied']);
  expect(refusals.records[0]).toMatchObject({ kind: 'claim_refused', subject: 'svc-admin' });

  // Another tenant's auditor sees none of acme's records.
  const other = (await (await get('', KEYS.auditorB)).json()) as { records: unknown[] };
  expect(other.records).toEqual([]);

  // Paging: one record at a time, the cursor walks the whole set without repeats.
  const seen: string[] = [];
  let cursor: string | null = '';
  do {
    const page = (await (
      await get(`?limit=1${cursor ? `&cursor=${cursor}` : ''}`, KEYS.auditor)
    ).json()) as { records: Array<{ chain: string; seq: number }>; nextCursor: string | null };
    seen.push(...page.records.map((r) => `${r.chain}:${r.seq}`));
    cursor = page.nextCursor;
  } while (cursor);
  expect(seen.length).toBe(new Set(seen).size);
  expect(seen.length).toBe(2);

  expect((await get('?since=yesterday', KEYS.auditor)).status).toBe(400);
  expect((await get('?cursor=bogus', KEYS.auditor)).status).toBe(400);
});

it('records approval requests and decisions; log lines carry requestId once', async () => {
  const req = await post('/v1/approvals', KEYS.admin, {
    tool: 'repo.apply_patch',
    args: { files: {}, edits: [] },
  });
  expect(req.status).toBe(201);
  const { id } = (await req.json()) as { id: string };
  expect((await post(`/v1/approvals/${id}/approve`, KEYS.admin, {})).status).toBe(403);
  expect((await post(`/v1/approvals/${id}/approve`, KEYS.approver, {})).status).toBe(200);
  const trail = (await (await get(`?approvalId=${id}`, KEYS.auditor)).json()) as {
    records: Array<Record<string, unknown>>;
  };
  expect(trail.records.map((r) => [r.kind, r.errorCode ?? r.decision ?? 'requested'])).toEqual([
    ['approval_requested', 'requested'],
    ['approval_decided', 'policy_denied'],
    ['approval_decided', 'approved'],
  ]);
  expect(trail.records[2]).toMatchObject({ approver: 'alice', subject: 'svc-admin' });
  for (const line of logs) expect(line.match(/"requestId"/g)?.length ?? 0).toBeLessThanOrEqual(1);
});
