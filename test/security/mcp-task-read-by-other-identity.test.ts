import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { taskId as asTaskId } from '@modelcontextprotocol/ext-tasks/core';
import { patchArgs } from '../helpers/runner.ts';
import { patchConfig } from '../mcp/broker-process.ts';
import { createIdp, createWorkspace, type Workspace } from '../mcp/helpers.ts';
import {
  connectTaskClient,
  rawRequest,
  startMcpProcess,
  taskEnvelope,
  type McpProcess,
} from '../mcp/task-client.ts';

/**
 * The attack: another identity on the same MCP server learns (or guesses) the
 * id of alice's task, which waits for a human approval, and polls it to read
 * the call and its result, answers its input, or cancels it. A task belongs
 * to the identity (tenant and subject) that created it: for anybody else it
 * does not exist, with the same answer as an id that never existed, so the
 * answer is no oracle either. Alice's task is untouched.
 */
const RESOURCE = 'https://mcp.example.test/mcp';

describe('an MCP task cannot be read, answered or cancelled by another identity', () => {
  let ws: Workspace;
  let mcp: McpProcess;
  let alice: string;
  let mallory: string;
  let taskId: string;

  beforeAll(async () => {
    ws = await createWorkspace();
    const idp = await createIdp(ws.dir);
    ws.appendConfig(
      `mcp:\n  resourceUrl: ${RESOURCE}\n  identity:\n    issuer: ${idp.issuer}\n    jwksFile: keys/idp.jwks.json\n`,
    );
    patchConfig(ws.config, { broker: { console: { publicUrl: 'https://console.example.test' } } });
    mcp = await startMcpProcess(ws.config);
    alice = await idp.token({ sub: 'alice', roles: ['admin'], aud: RESOURCE });
    mallory = await idp.token({ sub: 'mallory', roles: ['admin'], aud: RESOURCE });
    const created = await rawRequest(mcp.url, alice, {
      method: 'tools/call',
      params: { name: 'repo.apply_patch', arguments: patchArgs('mine'), _meta: taskEnvelope() },
    });
    const task = created.result as { resultType?: string; taskId?: string };
    expect(task.resultType, JSON.stringify(created)).toBe('task');
    taskId = task.taskId!;
  }, 60_000);
  afterAll(async () => {
    await mcp?.stop();
    ws?.cleanup();
  });

  const ask = (token: string, method: string, id: string, extra: Record<string, unknown> = {}) =>
    rawRequest(mcp.url, token, {
      method,
      params: { taskId: id, ...extra, _meta: taskEnvelope() },
    });

  it('tasks/get, tasks/update and tasks/cancel by mallory answer task_not_found, as for an id that never existed', async () => {
    const never = await ask(mallory, 'tasks/get', 'tsk_00000000-0000-4000-8000-000000000000');
    expect(never.error).toMatchObject({ code: -32602, data: { code: 'task_not_found' } });
    for (const [method, extra] of [
      ['tasks/get', {}],
      ['tasks/update', { inputResponses: { 'toolcage/approval': { action: 'accept' } } }],
      ['tasks/cancel', {}],
    ] as const) {
      const answer = await ask(mallory, method, taskId, extra);
      expect(answer.result, method).toBeUndefined();
      expect(answer.error, method).toMatchObject({
        code: -32602,
        data: { code: 'task_not_found' },
      });
      expect(answer.error!.message.replace(taskId, 'ID'), method).toBe(
        never.error!.message.replace('tsk_00000000-0000-4000-8000-000000000000', 'ID'),
      );
      expect(JSON.stringify(answer)).not.toMatch(/apr_|mine|apply_patch/);
    }
  });

  it('the ext-tasks client as mallory cannot resume it either', async () => {
    const tc = await connectTaskClient(mcp.url, mallory);
    try {
      await expect(tc.session.task(asTaskId(taskId)).snapshot()).rejects.toThrow(/task_not_found/);
    } finally {
      await tc.close();
    }
  });

  it('alice’s task is untouched: still waiting for its approval, its URL still asked for', async () => {
    const mine = await ask(alice, 'tasks/get', taskId);
    expect(mine.result).toMatchObject({
      taskId,
      status: 'input_required',
      inputRequests: { 'toolcage/approval': { params: { mode: 'url' } } },
    });
  });
});
