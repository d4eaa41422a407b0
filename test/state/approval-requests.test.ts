// Approval requests as durable records, the same contract on both stores: the exact arguments kept
// byte for byte, one pending request per envelope (atomic, also under concurrency), list filters,
// decisions with a reason, and expiry swept.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ApprovalRecord, ApprovalStore } from '../../src/broker/approval-store.ts';
import { openStateDatabase } from '../../src/state/sqlite/database.ts';
import { SqliteApprovalStore } from '../../src/state/sqlite/approval-store.ts';
import { RedisApprovalStore } from '../../src/state/redis/approval-store.ts';
import { closeRedisClient } from '../../src/state/redis/client.ts';
import { deleteKeys, testClient, uniquePrefix } from './redis-helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'toolcage-approvals-'));
const prefix = uniquePrefix();
const redisA = testClient();
const redisB = testClient();
const sqliteFile = join(dir, 'state.db');
const dbs = [openStateDatabase(sqliteFile), openStateDatabase(sqliteFile)];

afterAll(async () => {
  await deleteKeys(redisA, prefix);
  await closeRedisClient(redisA);
  await closeRedisClient(redisB);
  for (const db of dbs) db.close();
  rmSync(dir, { recursive: true, force: true });
});

const now = Date.now();
let n = 0;
function record(overrides: Partial<ApprovalRecord> = {}): ApprovalRecord {
  n++;
  return {
    id: `apr_test_${n}_${Math.random().toString(36).slice(2)}`,
    tool: 'repo.apply_patch',
    sub: 'bob',
    tenant: 'acme',
    argsHash: `sha256:${n}`,
    argsJson: '{"edits":[],"files":{}}',
    toolVersion: '1.0.0',
    risk: 'high',
    requestedVia: 'api_key:svc',
    status: 'pending',
    createdAtMs: now + n,
    expiresAtMs: now + 600_000,
    ...overrides,
  };
}

// Two stores on one backing state: two SQLite connections to one file, two Redis clients.
const stores: [string, () => [ApprovalStore, ApprovalStore]][] = [
  ['sqlite', () => [new SqliteApprovalStore(dbs[0]!), new SqliteApprovalStore(dbs[1]!)]],
  [
    'redis',
    () => [
      new RedisApprovalStore({ client: redisA, prefix }),
      new RedisApprovalStore({ client: redisB, prefix }),
    ],
  ],
];

describe.each(stores)('%s approval requests', (_name, make) => {
  it('keeps the exact arguments (an empty array stays an array) through decide and consume', async () => {
    const [a, b] = make();
    const r = record();
    await a.open(r, now);
    expect(await a.decide(r.id, 'approved', 'alice', now + 10)).toBe(true);
    const got = await b.get(r.id, now + 20);
    expect(got).toMatchObject({
      status: 'approved',
      argsJson: '{"edits":[],"files":{}}',
      decidedBy: 'alice',
      decidedAtMs: now + 10,
      risk: 'high',
      toolVersion: '1.0.0',
      requestedVia: 'api_key:svc',
    });
    expect(await b.consume(r.id, r, now + 30)).toBe('ok');
    expect((await a.get(r.id, now + 40))!.argsJson).toBe('{"edits":[],"files":{}}');
  });

  it('reuses the pending request of an envelope, also when many ask at once from two connections', async () => {
    const [a, b] = make();
    const base = record();
    const opened = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        (i % 2 ? a : b).open({ ...base, id: `${base.id}_${i}` }, now),
      ),
    );
    const ids = new Set(opened.map((o) => o.record.id));
    expect(ids.size).toBe(1);
    expect(opened.filter((o) => o.created)).toHaveLength(1);
    expect(
      await a
        .list({ tool: base.tool, subject: base.sub, status: 'pending' }, now)
        .then((l) => l.filter((r) => r.argsHash === base.argsHash)),
    ).toHaveLength(1);
  });

  it('a request and its approval belong to one session unless the approver allows any', async () => {
    const [a, b] = make();
    const r = record({ session: 's1' });
    await a.open(r, now);
    // The same call in another session (or in none) is another request, never s1's.
    const s2 = await b.open({ ...r, id: `${r.id}_s2`, session: 's2' }, now);
    expect(s2).toMatchObject({ created: true, record: { session: 's2' } });
    expect((await b.open({ ...r, id: `${r.id}_none`, session: undefined }, now)).created).toBe(
      true,
    );
    expect((await a.open({ ...r, id: `${r.id}_again` }, now)).record.id).toBe(r.id);

    expect(await b.decide(r.id, 'approved', 'alice', now)).toBe(true);
    expect(await a.consume(r.id, { ...r, session: 's2' }, now)).toBe('mismatch');
    expect(await a.consume(r.id, { ...r, session: undefined }, now)).toBe('mismatch');
    expect(await a.consume(r.id, r, now)).toBe('ok');

    // Approved for any session: usable from s3, still once.
    expect(await a.decide(s2.record.id, 'approved', 'alice', now, undefined, true)).toBe(true);
    expect(await b.get(s2.record.id, now)).toMatchObject({ session: 's2', anySession: true });
    expect(await b.consume(s2.record.id, { ...r, session: 's3' }, now)).toBe('ok');
    expect(await a.consume(s2.record.id, { ...r, session: 's2' }, now)).toBe('used');
  });

  it('a denied request answers its envelope with the reason; a used one does not', async () => {
    const [a, b] = make();
    const r = record();
    await a.open(r, now);
    expect(await b.decide(r.id, 'denied', 'alice', now, 'touches prod')).toBe(true);
    const again = await a.open({ ...r, id: `${r.id}_2` }, now + 1);
    expect(again).toMatchObject({
      created: false,
      record: { id: r.id, status: 'denied', reason: 'touches prod' },
    });
    expect(await a.decide(r.id, 'approved', 'carol', now + 2)).toBe(false);

    const u = record();
    await a.open(u, now);
    await a.decide(u.id, 'approved', 'alice', now);
    expect(await a.consume(u.id, u, now)).toBe('ok');
    const fresh = await b.open({ ...u, id: `${u.id}_2` }, now + 1);
    expect(fresh.created).toBe(true);
  });

  it('an expired pending request reads as expired, is swept, and a new one opens', async () => {
    const [a, b] = make();
    const r = record({ expiresAtMs: now + 100 });
    await a.open(r, now);
    expect((await b.get(r.id, now + 200))!.status).toBe('expired');
    expect(await a.decide(r.id, 'approved', 'alice', now + 200)).toBe(false);
    await a.sweep(now + 200);
    expect((await a.list({ status: 'expired' }, now + 200)).map((x) => x.id)).toContain(r.id);
    expect((await a.list({ status: 'pending' }, now + 200)).map((x) => x.id)).not.toContain(r.id);
    expect((await b.open({ ...r, id: `${r.id}_2` }, now + 200)).created).toBe(true);
  });

  it('lists newest first, filtered by status, tool, tenant and subject', async () => {
    const [a] = make();
    const t = `tool.${n}`;
    const x = record({ tool: t, tenant: 'globex', sub: 'zed' });
    const y = record({ tool: t, tenant: 'acme', sub: 'zed' });
    await a.open(x, now);
    await a.open(y, now);
    expect((await a.list({ tool: t }, now)).map((r) => r.id)).toEqual([y.id, x.id]);
    expect((await a.list({ tool: t, tenant: 'globex' }, now)).map((r) => r.id)).toEqual([x.id]);
    expect(await a.list({ tool: t, subject: 'nobody' }, now)).toEqual([]);
    expect(await a.list({ tool: t, status: 'approved' }, now)).toEqual([]);
  });
});
