// The task lifecycle on the real SQLite task store, with the clock under the test's control:
// expiry, a lapsed run lease, the remote-broker mode that learns the approval's state by retrying
// the call (at most once per poll interval), and concurrent polls that must run the call once.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryAuditSink } from '../../src/audit/audit.ts';
import { ToolcageError } from '../../src/errors/toolcage-error.ts';
import { errorResult, successResult } from '../../src/mcp/results.ts';
import { TaskService, taskOwner, type ApprovalState } from '../../src/mcp/tasks/task-service.ts';
import { openStateDatabase } from '../../src/state/sqlite/database.ts';
import { SqliteTaskStore } from '../../src/state/sqlite/task-store.ts';

const T0 = Date.parse('2026-11-27T12:00:00Z');
const OWNER = taskOwner({ sub: 'alice', tenant: 'acme' });
const CALL = { name: 'repo.apply_patch', arguments: { x: 1 } };

function refusal(status: 'pending' | 'denied', approvalId = 'apr_1'): CallToolResult {
  return errorResult(
    new ToolcageError('approval_required', {
      message: status === 'denied' ? 'denied by ops: no' : 'needs a human',
      details: {
        approvalId,
        status,
        expiresAt: new Date(T0 + 60_000).toISOString(),
        consoleUrl: `https://console.example.test/console/approvals/${approvalId}`,
        ...(status === 'denied' ? { reason: 'no', decidedBy: 'ops' } : {}),
      },
    }),
    'req_1',
    CALL.name,
  ) as CallToolResult;
}

describe('TaskService on the SQLite task store', () => {
  let dir: string;
  let store: SqliteTaskStore;
  let audit: MemoryAuditSink;
  let now: number;
  let state: ApprovalState | undefined;

  const service = (remote = false) =>
    new TaskService({
      store,
      audit,
      pollIntervalMs: 1_000,
      retentionMs: 60_000,
      runLeaseMs: 10_000,
      now: () => now,
      ...(remote ? {} : { approvalState: async () => state ?? 'pending' }),
    });
  const create = (s: TaskService) =>
    s.create({
      owner: OWNER,
      subject: 'alice',
      tenant: 'acme',
      call: CALL,
      refusal: refusal('pending'),
    });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'toolcage-tasks-'));
    store = new SqliteTaskStore(openStateDatabase(join(dir, 'state.db')));
    audit = new MemoryAuditSink();
    now = T0;
    state = 'pending';
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a task still waiting when its approval request expires fails with approval_expired; nothing runs', async () => {
    const s = service();
    const task = (await create(s))!;
    let runs = 0;
    now = T0 + 60_001;
    const got = await s.get(OWNER, task.id, async () => (runs++, successResult({}, 'inv_1')));
    expect(got).toMatchObject({ phase: 'failed', error: { data: { code: 'approval_expired' } } });
    expect(runs).toBe(0);
    expect(audit.entries.map((e) => [e.kind, (e as { event?: string }).event])).toEqual([
      ['mcp_task', 'created'],
      ['mcp_task', 'failed'],
    ]);
  });

  it('a run whose replica stopped (its lease lapsed) fails the task as task_interrupted, never runs it again', async () => {
    const s = service();
    const task = (await create(s))!;
    await store.replace(
      { ...task, version: 2, phase: 'running', leaseUntilMs: T0 + 10_000 },
      task.version,
    );
    let runs = 0;
    const run = async () => (runs++, successResult({}, 'inv_1'));
    now = T0 + 5_000;
    expect(await s.get(OWNER, task.id, run)).toMatchObject({ phase: 'running' });
    now = T0 + 10_001;
    expect(await s.get(OWNER, task.id, run)).toMatchObject({
      phase: 'failed',
      error: { data: { code: 'task_interrupted' } },
    });
    expect(runs).toBe(0);
  });

  it('with a remote broker the call itself asks, at most once per poll interval, until it runs', async () => {
    const s = service(true);
    const task = (await create(s))!;
    const answers = [refusal('pending'), successResult({ ok: true }, 'inv_7')];
    let runs = 0;
    const run = async () => answers[runs++]!;
    expect(await s.get(OWNER, task.id, run)).toMatchObject({ phase: 'waiting' });
    expect(runs).toBe(0);
    now = T0 + 1_000;
    expect(await s.get(OWNER, task.id, run)).toMatchObject({ phase: 'waiting' });
    expect(await s.get(OWNER, task.id, run)).toMatchObject({ phase: 'waiting' });
    expect(runs).toBe(1);
    now = T0 + 2_000;
    const done = await s.get(OWNER, task.id, run);
    expect(done).toMatchObject({ phase: 'completed', result: { structuredContent: { ok: true } } });
    expect(await s.get(OWNER, task.id, run)).toMatchObject({ phase: 'completed' });
    expect(runs).toBe(2);
  });

  it('a denial learnt by the retry fails the task with the broker’s error object', async () => {
    const s = service(true);
    const task = (await create(s))!;
    now = T0 + 1_000;
    const got = await s.get(OWNER, task.id, async () => refusal('denied'));
    expect(got).toMatchObject({
      phase: 'failed',
      error: {
        code: -32000,
        data: { code: 'approval_required', details: { status: 'denied', reason: 'no' } },
      },
    });
  });

  it('concurrent polls after the approval run the call once; every poll sees it running or done', async () => {
    const s = service();
    const task = (await create(s))!;
    state = 'approved';
    let runs = 0;
    const run = async () => {
      runs++;
      await new Promise((r) => setTimeout(r, 50));
      return successResult({ n: runs }, 'inv_once');
    };
    const polled = await Promise.all(Array.from({ length: 8 }, () => s.get(OWNER, task.id, run)));
    expect(runs).toBe(1);
    expect(polled.every((p) => p.phase === 'running' || p.phase === 'completed')).toBe(true);
    expect(await s.get(OWNER, task.id, run)).toMatchObject({
      phase: 'completed',
      result: { structuredContent: { n: 1 } },
    });
  });

  it('another identity is told task_not_found; cancel only while waiting', async () => {
    const s = service();
    const task = (await create(s))!;
    const bob = taskOwner({ sub: 'bob', tenant: 'acme' });
    const otherTenant = taskOwner({ sub: 'alice', tenant: 'globex' });
    for (const who of [bob, otherTenant])
      await expect(s.find(who, task.id)).rejects.toMatchObject({ code: 'task_not_found' });
    await expect(s.cancel(bob, task.id)).rejects.toMatchObject({ code: 'task_not_found' });
    expect(await s.cancel(OWNER, task.id)).toMatchObject({ phase: 'cancelled' });
    await expect(s.cancel(OWNER, task.id)).rejects.toMatchObject({ code: 'request_invalid' });
  });
});
