// MCP Tasks (`io.modelcontextprotocol/tasks`, 2026-07-28) against `toolcage mcp` in its own
// process: the ext-tasks 0.2.2 client on the SDK v2 client calls a high-risk tool and gets a task
// instead of the approval_required error. The task asks for the console page (a URL
// elicitation); the test acts as the person and decides the approval request through the
// broker's HTTP API. Approved: the task completes with the call's result (the call ran once,
// with a fresh claim). Denied: the task fails with the approver's reason and the code.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resultFromTaskOutcome } from '@modelcontextprotocol/ext-tasks/client';
import { loadConfig } from '../../src/config/load.ts';
import { apiKeyHash } from '../../src/identity/verifier.ts';
import { createBrokerService, type BrokerService } from '../../src/runtime/broker-service.ts';
import { patchArgs } from '../helpers/runner.ts';
import { patchConfig } from './broker-process.ts';
import { createIdp, createWorkspace, type TestIdp, type Workspace } from './helpers.ts';
import {
  approvingPerson,
  connectTaskClient,
  rawRequest,
  readTrail,
  startMcpProcess,
  taskEnvelope,
  type McpProcess,
  type TaskClient,
} from './task-client.ts';

const OPS_KEY = randomBytes(24).toString('base64url');
const CONSOLE = 'https://console.example.test';
const RESOURCE = 'https://mcp.example.test/mcp';

type Decision = { action: 'approve' } | { action: 'deny'; reason: string };

describe('MCP Tasks: a task for a call waiting on a human approval', () => {
  let ws: Workspace;
  let idp: TestIdp;
  let mcp: McpProcess;
  let broker: BrokerService;
  let brokerUrl: string;
  let token: string;
  let tc: TaskClient;
  let decision: Decision = { action: 'approve' };
  const asked: Array<Record<string, unknown>> = [];

  async function decide(id: string, d: Decision): Promise<void> {
    const r = await fetch(`${brokerUrl}/v1/approvals/${id}/${d.action}`, {
      method: 'POST',
      headers: { 'x-api-key': OPS_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: d.action === 'deny' ? d.reason : 'looked at it' }),
    });
    if (r.status !== 200) throw new Error(`${d.action}: ${r.status} ${await r.text()}`);
  }

  beforeAll(async () => {
    ws = await createWorkspace();
    idp = await createIdp(ws.dir);
    ws.appendConfig(
      `mcp:\n  resourceUrl: ${RESOURCE}\n  identity:\n    issuer: ${idp.issuer}\n    jwksFile: keys/idp.jwks.json\n  tasks:\n    pollIntervalMs: 200\n`,
    );
    patchConfig(ws.config, {
      broker: {
        apiKeys: [{ id: 'ops', sha256: apiKeyHash(OPS_KEY), subject: 'ops', roles: ['approver'] }],
        console: { publicUrl: CONSOLE },
        http: { logLevel: 'silent' },
      },
    });
    broker = await createBrokerService(loadConfig(ws.config));
    brokerUrl = await broker.listen({ host: '127.0.0.1', port: 0 });
    mcp = await startMcpProcess(ws.config);
    token = await idp.token({ sub: 'alice', roles: ['admin'], aud: RESOURCE });
    tc = await connectTaskClient(mcp.url, token, {
      onInputRequest: approvingPerson(asked, (id) => decide(id, decision)),
    });
  }, 60_000);
  afterAll(async () => {
    await tc?.close();
    await mcp?.stop();
    await broker?.shutdown();
    ws?.cleanup();
  });

  it('advertises the extension in server/discover', () => {
    expect(tc.client.getServerCapabilities()?.extensions).toHaveProperty([
      'io.modelcontextprotocol/tasks',
    ]);
  });

  it('approved: the task completes with the result of the call, which ran once', async () => {
    decision = { action: 'approve' };
    asked.length = 0;
    const execution = await tc.session.callTool('repo.apply_patch', patchArgs('tasked'), {
      task: { preference: 'require' },
    });
    expect(execution.kind).toBe('task');
    const { outcome } = await execution.settle();
    expect(
      outcome.status,
      JSON.stringify(outcome) + String((outcome as { error?: Error }).error?.message),
    ).toBe('completed');
    const result = resultFromTaskOutcome(outcome) as {
      isError?: boolean;
      structuredContent?: unknown;
    };
    expect(result.isError ?? false).toBe(false);
    expect(JSON.stringify(result.structuredContent)).toContain('tasked world');
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({
      mode: 'url',
      url: expect.stringMatching(new RegExp(`^${CONSOLE}/console/approvals/apr_`)),
      message: expect.stringMatching(/needs a human's approval/),
    });
    // The trail: the task was created and completed, and the tool ran exactly once for it.
    const trail = readTrail(ws.dir);
    const taskId = execution.handle!.taskId;
    expect(
      trail.filter((r) => r.kind === 'mcp_task' && r.taskId === taskId).map((r) => r.event),
    ).toEqual(['created', 'completed']);
    const approvalId = trail.find((r) => r.kind === 'mcp_task' && r.taskId === taskId)!.approvalId;
    expect(
      trail.filter((r) => (r.kind ?? 'call') === 'call' && r.approvalId === approvalId),
    ).toHaveLength(1);
  });

  it('denied: the task fails with the approver’s reason and the code; the call never ran', async () => {
    decision = { action: 'deny', reason: 'not on a Friday' };
    const execution = await tc.session.callTool('repo.apply_patch', patchArgs('refused'), {
      task: { preference: 'require' },
    });
    const { outcome } = await execution.settle();
    expect(outcome.status, JSON.stringify(outcome)).toBe('failed');
    const error = (outcome as { error: { code: number; message: string; data?: unknown } }).error;
    expect(error.message).toMatch(/denied by ops: not on a Friday/);
    expect(error.data).toMatchObject({
      code: 'approval_required',
      details: { status: 'denied', reason: 'not on a Friday' },
    });
    const taskId = execution.handle!.taskId;
    const trail = readTrail(ws.dir);
    expect(
      trail
        .filter((r) => r.kind === 'mcp_task' && r.taskId === taskId)
        .map((r) => [r.event, r.errorCode]),
    ).toEqual([
      ['created', undefined],
      ['failed', 'approval_required'],
    ]);
  });

  it('a client without the extension still gets the plain approval_required error', async () => {
    const answer = await rawRequest(mcp.url, token, {
      method: 'tools/call',
      params: {
        name: 'repo.apply_patch',
        arguments: patchArgs('plain'),
        _meta: {
          'io.modelcontextprotocol/protocolVersion': '2026-07-28',
          'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
          'io.modelcontextprotocol/clientCapabilities': {},
        },
      },
    });
    const result = answer.result as { isError?: boolean; resultType?: string; content: unknown };
    expect(result.resultType).toBe('complete');
    expect(result.isError).toBe(true);
    expect(JSON.stringify(result.content)).toMatch(/approval_required/);
  });

  it('tasks/cancel cancels a waiting task; a cancelled task stays cancelled', async () => {
    const created = await rawRequest(mcp.url, token, {
      method: 'tools/call',
      params: {
        name: 'repo.apply_patch',
        arguments: patchArgs('cancel-me'),
        _meta: taskEnvelope(),
      },
    });
    const task = created.result as { resultType: string; taskId: string; status: string };
    expect(task).toMatchObject({ resultType: 'task', status: 'input_required' });
    const cancelled = await rawRequest(mcp.url, token, {
      method: 'tasks/cancel',
      params: { taskId: task.taskId, _meta: taskEnvelope() },
    });
    expect(cancelled.error).toBeUndefined();
    const got = await rawRequest(mcp.url, token, {
      method: 'tasks/get',
      params: { taskId: task.taskId, _meta: taskEnvelope() },
    });
    expect(got.result).toMatchObject({ taskId: task.taskId, status: 'cancelled' });
  });
});
