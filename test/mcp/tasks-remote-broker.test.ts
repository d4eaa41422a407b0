// MCP Tasks when the MCP host asks a remote broker for its claims (`mcp.broker`): the host cannot
// read the approval request, so a poll learns its state by retrying the call (at most once per
// poll interval); the broker answers approval_required while it is pending. Once an approver
// approves at the broker, a poll runs the call and the task completes; a denial fails it.
import { randomBytes } from 'node:crypto';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeyHash } from '../../src/identity/verifier.ts';
import { deleteKeys, SHARED_REDIS_URL, uniquePrefix } from '../replicas/helpers.ts';
import { patchArgs } from '../helpers/runner.ts';
import { createIdp, createWorkspace, type Workspace } from './helpers.ts';
import {
  mcpHostCopy,
  patchConfig,
  startBrokerProcess,
  type BrokerProcess,
} from './broker-process.ts';
import { rawRequest, startMcpProcess, taskEnvelope, type McpProcess } from './task-client.ts';

const MCP_KEY = randomBytes(24).toString('base64url');
const OPS_KEY = randomBytes(24).toString('base64url');
const RESOURCE = 'https://mcp.example.test/mcp';

describe('MCP Tasks with a remote broker', () => {
  const prefix = uniquePrefix('mcp-tasks-remote');
  const state = { stores: 'redis', redis: { url: SHARED_REDIS_URL, keyPrefix: prefix } };
  let ws: Workspace;
  let host: ReturnType<typeof mcpHostCopy>;
  let broker: BrokerProcess;
  let mcp: McpProcess;
  let token: string;

  const decide = async (id: string, action: 'approve' | 'deny', reason: string) => {
    const r = await fetch(`${broker.url}/v1/approvals/${id}/${action}`, {
      method: 'POST',
      headers: { 'x-api-key': OPS_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ reason }),
    });
    if (r.status !== 200) throw new Error(`${action}: ${r.status} ${await r.text()}`);
  };

  const getTask = async (taskId: string) =>
    (
      await rawRequest(mcp.url, token, {
        method: 'tasks/get',
        params: { taskId, _meta: taskEnvelope() },
      })
    ).result as Record<string, any>;

  const settle = async (taskId: string) => {
    for (let i = 0; i < 150; i++) {
      const t = await getTask(taskId);
      if (['completed', 'failed', 'cancelled'].includes(t.status)) return t;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`task ${taskId} did not settle`);
  };

  const createTask = async (replace: string) => {
    const created = await rawRequest(mcp.url, token, {
      method: 'tools/call',
      params: { name: 'repo.apply_patch', arguments: patchArgs(replace), _meta: taskEnvelope() },
    });
    const task = created.result as { resultType?: string; taskId: string };
    expect(task.resultType, JSON.stringify(created) + mcp.output.join('')).toBe('task');
    const url = JSON.stringify(await getTask(task.taskId));
    const approvalId = /console\/approvals\/(apr_[A-Za-z0-9_-]+)/.exec(url)?.[1];
    expect(approvalId, url).toBeDefined();
    return { taskId: task.taskId, approvalId: approvalId! };
  };

  beforeAll(async () => {
    ws = await createWorkspace();
    appendFileSync(
      join(ws.dir, 'broker-policy.yaml'),
      'delegates:\n  mcp-delegate: { subjects: ["*"], roles: [admin, analyst, support, approver] }\n',
    );
    host = mcpHostCopy(ws.dir);
    patchConfig(ws.config, {
      state,
      broker: {
        http: { logLevel: 'info' },
        console: { publicUrl: 'https://console.example.test' },
        apiKeys: [
          {
            id: 'mcp',
            sha256: apiKeyHash(MCP_KEY),
            subject: 'mcp-gateway',
            roles: ['mcp-delegate'],
          },
          { id: 'ops', sha256: apiKeyHash(OPS_KEY), subject: 'ops', roles: ['approver'] },
        ],
      },
    });
    broker = await startBrokerProcess(ws.config);
    const idp = await createIdp(host.dir);
    writeFileSync(join(host.dir, 'keys', 'mcp-broker.key'), `${MCP_KEY}\n`, { mode: 0o600 });
    patchConfig(host.config, { runner: { brokerKeys: null } });
    patchConfig(host.config, {
      state,
      sandbox: { docker: { enabled: false } },
      runner: { brokerKeys: { jwksUrl: `${broker.url}/.well-known/jwks.json` } },
      mcp: {
        broker: { url: broker.url, apiKeyFile: 'keys/mcp-broker.key' },
        resourceUrl: RESOURCE,
        identity: { issuer: idp.issuer, jwksFile: 'keys/idp.jwks.json' },
        tasks: { pollIntervalMs: 300 },
      },
    });
    mcp = await startMcpProcess(host.config);
    token = await idp.token({ sub: 'alice', roles: ['admin'], aud: RESOURCE });
  }, 90_000);
  afterAll(async () => {
    await mcp?.stop();
    await broker?.stop();
    await deleteKeys(SHARED_REDIS_URL, prefix);
    host?.cleanup();
    ws?.cleanup();
  });

  it('stays waiting while the request is pending, then completes once it is approved at the broker', async () => {
    const { taskId, approvalId } = await createTask('remote-task');
    await new Promise((r) => setTimeout(r, 700));
    expect(await getTask(taskId)).toMatchObject({ status: 'input_required' });
    await decide(approvalId, 'approve', 'reviewed');
    const done = await settle(taskId);
    expect(done.status, JSON.stringify(done)).toBe('completed');
    expect(JSON.stringify(done.result.structuredContent)).toContain('remote-task world');
  });

  it('fails with the reason once it is denied at the broker', async () => {
    const { taskId, approvalId } = await createTask('remote-denied');
    await decide(approvalId, 'deny', 'not this file');
    const done = await settle(taskId);
    expect(done).toMatchObject({
      status: 'failed',
      error: { data: { code: 'approval_required', details: { status: 'denied' } } },
    });
    expect(done.error.message).toMatch(/not this file/);
  });
});
