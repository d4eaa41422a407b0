// MCP Tasks across replicas: two `toolcage mcp` processes keep their state on one Redis (a unique
// key prefix on the shared test server). A task created on replica A is answered by replica B:
// once the approval request is approved, B runs the call and completes the task; a denial fails
// it there with the reason. When both replicas are polled at once after the approval, the call
// runs exactly once (one replica wins the run lease) and every poll ends with the same result.
import { randomBytes } from 'node:crypto';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { taskId as asTaskId } from '@modelcontextprotocol/ext-tasks/core';
import { loadConfig } from '../../src/config/load.ts';
import { apiKeyHash } from '../../src/identity/verifier.ts';
import { createBrokerService, type BrokerService } from '../../src/runtime/broker-service.ts';
import { patchArgs } from '../helpers/runner.ts';
import { patchConfig } from '../mcp/broker-process.ts';
import { createIdp, createWorkspace, type Workspace } from '../mcp/helpers.ts';
import {
  connectTaskClient,
  rawRequest,
  readTrail,
  startMcpProcess,
  taskEnvelope,
  type McpProcess,
} from '../mcp/task-client.ts';
import { deleteKeys, SHARED_REDIS_URL, uniquePrefix } from './helpers.ts';

const OPS_KEY = randomBytes(24).toString('base64url');
const RESOURCE = 'https://mcp.example.test/mcp';

describe('MCP Tasks on two replicas sharing Redis', () => {
  const prefix = uniquePrefix('mcp-tasks');
  let ws: Workspace;
  let a: McpProcess;
  let b: McpProcess;
  let broker: BrokerService;
  let brokerUrl: string;
  let token: string;

  const decide = async (id: string, action: 'approve' | 'deny', reason: string) => {
    const r = await fetch(`${brokerUrl}/v1/approvals/${id}/${action}`, {
      method: 'POST',
      headers: { 'x-api-key': OPS_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ reason }),
    });
    if (r.status !== 200) throw new Error(`${action}: ${r.status} ${await r.text()}`);
  };

  /** A task created on `on` for a fresh call; its id and the approval request's id. */
  const createTask = async (on: McpProcess, replace: string) => {
    const created = await rawRequest(on.url, token, {
      method: 'tools/call',
      params: { name: 'repo.apply_patch', arguments: patchArgs(replace), _meta: taskEnvelope() },
    });
    const task = created.result as {
      resultType: string;
      taskId: string;
      inputRequests?: unknown;
    };
    expect(task.resultType, JSON.stringify(created)).toBe('task');
    const got = await rawRequest(on.url, token, {
      method: 'tasks/get',
      params: { taskId: task.taskId, _meta: taskEnvelope() },
    });
    const url = JSON.stringify(got.result);
    const approvalId = /console\/approvals\/(apr_[A-Za-z0-9_-]+)/.exec(url)?.[1];
    expect(approvalId, url).toBeDefined();
    return { taskId: task.taskId, approvalId: approvalId! };
  };

  const getTask = (on: McpProcess, taskId: string) =>
    rawRequest(on.url, token, {
      method: 'tasks/get',
      params: { taskId, _meta: taskEnvelope() },
    }).then((a) => a.result as Record<string, any>);

  beforeAll(async () => {
    ws = await createWorkspace();
    const idp = await createIdp(ws.dir);
    ws.appendConfig(
      `mcp:\n  resourceUrl: ${RESOURCE}\n  identity:\n    issuer: ${idp.issuer}\n    jwksFile: keys/idp.jwks.json\n  tasks:\n    pollIntervalMs: 200\n`,
    );
    patchConfig(ws.config, {
      state: { stores: 'redis', redis: { url: SHARED_REDIS_URL, keyPrefix: prefix } },
      broker: {
        apiKeys: [{ id: 'ops', sha256: apiKeyHash(OPS_KEY), subject: 'ops', roles: ['approver'] }],
        console: { publicUrl: 'https://console.example.test' },
        http: { logLevel: 'silent' },
      },
    });
    // Replica B: the same config but its own audit file, as two hosts would have.
    const configB = join(ws.dir, 'toolcage.b.config.yaml');
    copyFileSync(ws.config, configB);
    patchConfig(configB, { audit: { file: '.toolcage/audit-b.log' } });
    broker = await createBrokerService(loadConfig(ws.config));
    brokerUrl = await broker.listen({ host: '127.0.0.1', port: 0 });
    [a, b] = await Promise.all([startMcpProcess(ws.config), startMcpProcess(configB)]);
    token = await idp.token({ sub: 'alice', roles: ['admin'], aud: RESOURCE });
  }, 90_000);
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await broker?.shutdown();
    await deleteKeys(SHARED_REDIS_URL, prefix);
    ws?.cleanup();
  });

  it('a task created on A completes on B once approved; the ext-tasks client on B reads the result', async () => {
    const { taskId, approvalId } = await createTask(a, 'from-a');
    expect(await getTask(b, taskId)).toMatchObject({ taskId, status: 'input_required' });
    await decide(approvalId, 'approve', 'fine');
    const tc = await connectTaskClient(b.url, token);
    try {
      const outcome = await tc.session.task(asTaskId(taskId)).result();
      expect(outcome.status, JSON.stringify(outcome)).toBe('completed');
      const result = (outcome as { result: { structuredContent?: unknown } }).result;
      expect(JSON.stringify(result.structuredContent)).toContain('from-a world');
    } finally {
      await tc.close();
    }
    // A reads the same completed task from the shared record.
    expect(await getTask(a, taskId)).toMatchObject({ status: 'completed' });
  });

  it('a denial is read on B: the task fails with the reason', async () => {
    const { taskId, approvalId } = await createTask(a, 'denied-on-b');
    await decide(approvalId, 'deny', 'wrong file');
    const task = await getTask(b, taskId);
    expect(task).toMatchObject({
      status: 'failed',
      error: {
        message: expect.stringMatching(/denied by ops: wrong file/),
        data: { code: 'approval_required', details: { status: 'denied', reason: 'wrong file' } },
      },
    });
  });

  it('polled on both replicas at once after the approval, the call runs exactly once', async () => {
    const { taskId, approvalId } = await createTask(a, 'once');
    await decide(approvalId, 'approve', 'fine');
    const poll = async (on: McpProcess) => {
      for (let i = 0; i < 100; i++) {
        const t = await getTask(on, taskId);
        if (t.status === 'completed' || t.status === 'failed') return t;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('task did not settle');
    };
    const settled = await Promise.all([a, b, a, b, a, b].map(poll));
    const invocations = new Set(
      settled.map((t) => t.result?._meta?.['toolcage/invocationId'] as string | undefined),
    );
    expect(settled.every((t) => t.status === 'completed')).toBe(true);
    expect(invocations.size).toBe(1);
    expect([...invocations][0]).toMatch(/^inv_/);
    const trail = readTrail(ws.dir);
    expect(
      trail.filter((r) => (r.kind ?? 'call') === 'call' && r.approvalId === approvalId),
    ).toHaveLength(1);
    expect(
      trail
        .filter((r) => r.kind === 'mcp_task' && r.taskId === taskId)
        .map((r) => r.event)
        .sort(),
    ).toEqual(['completed', 'created']);
  });
});
