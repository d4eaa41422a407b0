// MCP Tasks (`io.modelcontextprotocol/tasks`, 2026-07-28) over stdio: the ext-tasks 0.2.2 client on
// the SDK v2 client's stdio transport, against `toolcage mcp` spawned as a process, calls a
// high-risk tool and gets a task instead of the approval_required error; the task is the local
// principal's and lives in the workspace's state store. The test acts as the person: it approves
// through the broker's HTTP API (a broker service on the same workspace state), and denies with
// `toolcage mcp approve --deny` in a terminal. Approved: the task completes with the call's result
// (the call ran once). Denied: the task fails with the reason and the code. Cancelled: it stays
// cancelled. A 2025-era client on the same command is not offered the extension.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as StdioV1 } from '@modelcontextprotocol/sdk/client/stdio.js';
import { resultFromTaskOutcome } from '@modelcontextprotocol/ext-tasks/client';
import { loadConfig } from '../../src/config/load.ts';
import { apiKeyHash } from '../../src/identity/verifier.ts';
import { createBrokerService, type BrokerService } from '../../src/runtime/broker-service.ts';
import { patchArgs } from '../helpers/runner.ts';
import { patchConfig } from './broker-process.ts';
import { CLI, createWorkspace, REPO, type Workspace } from './helpers.ts';
import { connectStdioTaskClient, type StdioTaskClient } from './stdio-task-client.ts';
import { approvingPerson, readTrail, taskEnvelope } from './task-client.ts';

const run = promisify(execFile);
const OPS_KEY = randomBytes(24).toString('base64url');
const CONSOLE = 'https://console.example.test';

type Decision = { by: 'http-approve' } | { by: 'cli-deny'; reason: string };

describe('MCP Tasks over stdio (spawned `toolcage mcp`)', () => {
  let ws: Workspace;
  let broker: BrokerService;
  let brokerUrl: string;
  let tc: StdioTaskClient;
  let decision: Decision = { by: 'http-approve' };
  const asked: Array<Record<string, unknown>> = [];

  const spawnArgs = () => ({
    command: process.execPath,
    args: [CLI, 'mcp', '--config', ws.config, '--no-watch'],
    cwd: REPO,
    stderr: 'pipe' as const,
  });

  async function decide(id: string, d: Decision): Promise<void> {
    if (d.by === 'http-approve') {
      const r = await fetch(`${brokerUrl}/v1/approvals/${id}/approve`, {
        method: 'POST',
        headers: { 'x-api-key': OPS_KEY, 'content-type': 'application/json' },
        body: JSON.stringify({ reason: 'looked at it' }),
      });
      if (r.status !== 200) throw new Error(`approve: ${r.status} ${await r.text()}`);
      return;
    }
    // The local user at a terminal (a dev workspace's policy lets it decide its own requests).
    await run(
      process.execPath,
      [CLI, 'mcp', 'approve', id, '--deny', '--reason', d.reason, '--config', ws.config],
      { cwd: REPO },
    );
  }

  beforeAll(async () => {
    ws = await createWorkspace();
    patchConfig(ws.config, {
      sandbox: { docker: { enabled: false } },
      broker: {
        apiKeys: [{ id: 'ops', sha256: apiKeyHash(OPS_KEY), subject: 'ops', roles: ['approver'] }],
        console: { publicUrl: CONSOLE },
        http: { logLevel: 'silent' },
      },
      mcp: { tasks: { pollIntervalMs: 200 } },
    });
    broker = await createBrokerService(loadConfig(ws.config));
    brokerUrl = await broker.listen({ host: '127.0.0.1', port: 0 });
    tc = await connectStdioTaskClient(spawnArgs(), {
      onInputRequest: approvingPerson(asked, (id) => decide(id, decision)),
    });
  }, 60_000);
  afterAll(async () => {
    await tc?.close();
    await broker?.shutdown();
    ws?.cleanup();
  });

  it('negotiates the modern era and advertises the extension in server/discover', () => {
    expect(tc.client.getProtocolEra()).toBe('modern');
    expect(tc.client.getServerCapabilities()?.extensions).toHaveProperty([
      'io.modelcontextprotocol/tasks',
    ]);
  });

  it('approved: the task completes with the result of the call, which ran once', async () => {
    decision = { by: 'http-approve' };
    asked.length = 0;
    const execution = await tc.session.callTool('repo.apply_patch', patchArgs('stdio-task'), {
      task: { preference: 'require' },
    });
    expect(execution.kind).toBe('task');
    const { outcome } = await execution.settle();
    expect(outcome.status, `${JSON.stringify(outcome)}\n${tc.stderr.join('')}`).toBe('completed');
    const result = resultFromTaskOutcome(outcome) as {
      isError?: boolean;
      structuredContent?: unknown;
    };
    expect(result.isError ?? false).toBe(false);
    expect(JSON.stringify(result.structuredContent)).toContain('stdio-task world');
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({
      mode: 'url',
      url: expect.stringMatching(new RegExp(`^${CONSOLE}/console/approvals/apr_`)),
    });
    // The trail: the task is the local principal's, created then completed; the tool ran once for it.
    const trail = readTrail(ws.dir);
    const taskId = execution.handle!.taskId;
    const records = trail.filter((r) => r.kind === 'mcp_task' && r.taskId === taskId);
    expect(records.map((r) => r.event)).toEqual(['created', 'completed']);
    expect(records[0]).toMatchObject({ subject: 'local-user' });
    const approvalId = records[0]!.approvalId as string;
    expect(
      trail.filter((r) => (r.kind ?? 'call') === 'call' && r.approvalId === approvalId),
    ).toHaveLength(1);
  });

  it('denied: the task fails with the reason and the code; the call never ran', async () => {
    decision = { by: 'cli-deny', reason: 'not from this laptop' };
    const execution = await tc.session.callTool('repo.apply_patch', patchArgs('stdio-refused'), {
      task: { preference: 'require' },
    });
    expect(execution.kind).toBe('task');
    const { outcome } = await execution.settle();
    expect(outcome.status, `${JSON.stringify(outcome)}\n${tc.stderr.join('')}`).toBe('failed');
    const error = (outcome as { error: { code: number; message: string; data?: unknown } }).error;
    expect(error.message).toMatch(/denied by local-user: not from this laptop/);
    expect(error.data).toMatchObject({
      code: 'approval_required',
      details: { status: 'denied', reason: 'not from this laptop' },
    });
    const taskId = execution.handle!.taskId;
    const trail = readTrail(ws.dir);
    const records = trail.filter((r) => r.kind === 'mcp_task' && r.taskId === taskId);
    expect(records.map((r) => [r.event, r.errorCode])).toEqual([
      ['created', undefined],
      ['failed', 'approval_required'],
    ]);
    expect(
      trail.filter((r) => (r.kind ?? 'call') === 'call' && r.approvalId === records[0]!.approvalId),
    ).toHaveLength(0);
  });

  it('tasks/cancel cancels a waiting task on the same connection; it stays cancelled', async () => {
    const created = await tc.raw({
      method: 'tools/call',
      params: {
        name: 'repo.apply_patch',
        arguments: patchArgs('stdio-cancel'),
        _meta: taskEnvelope(),
      },
    });
    const task = created.result as { resultType: string; taskId: string; status: string };
    expect(task, JSON.stringify(created)).toMatchObject({
      resultType: 'task',
      status: 'input_required',
    });
    const cancelled = await tc.raw({
      method: 'tasks/cancel',
      params: { taskId: task.taskId, _meta: taskEnvelope() },
    });
    expect(cancelled.error).toBeUndefined();
    const got = await tc.raw({
      method: 'tasks/get',
      params: { taskId: task.taskId, _meta: taskEnvelope() },
    });
    expect(got.result).toMatchObject({ taskId: task.taskId, status: 'cancelled' });
    // An id that is not the local principal's task reads as unknown: invalid params.
    const unknown = await tc.raw({
      method: 'tasks/get',
      params: { taskId: 'tsk_nobody', _meta: taskEnvelope() },
    });
    expect(unknown.error).toMatchObject({ code: -32602, data: { code: 'task_not_found' } });
  });

  it('does not offer the extension to a 2025-era client on the same command', async () => {
    const legacy = new ClientV1({ name: 'stdio-legacy', version: '1.0.0' });
    await legacy.connect(new StdioV1(spawnArgs()));
    try {
      expect(legacy.getServerCapabilities()?.tools).toBeDefined();
      expect(legacy.getServerCapabilities()).not.toHaveProperty('extensions');
    } finally {
      await legacy.close();
    }
  });
});
