/**
 * The Tasks extension (`io.modelcontextprotocol/tasks`, 2026-07-28) on an SDK
 * v2 `Server`: the server advertises it in `capabilities.extensions`; a
 * client declares it per request in `_meta["io.modelcontextprotocol/
 * clientCapabilities"].extensions`. To such a client, a `tools/call` that
 * waits for a human approval answers with a task (`resultType: "task"`)
 * instead of the `approval_required` error; `tasks/get`, `tasks/update` and
 * `tasks/cancel` serve it from the shared task store, on any replica.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import {
  CLIENT_CAPABILITIES_META_KEY,
  inputRequired,
  ProtocolError as RpcError,
  type AuthInfo,
  type Server,
} from '@modelcontextprotocol/server';
import { z } from 'zod';
import { ToolcageError } from '../../errors/toolcage-error.ts';
import type { Principal } from '../claim-provider.ts';
import type { ToolcageTools } from '../delegate.ts';
import type { TaskRecord } from '../../ports/mcp-tasks.ts';
import { taskOwner, type RunCall, type TaskService } from './task-service.ts';

export const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks';

/** The key of the approval's URL elicitation in an `input_required` task. */
export const TASK_APPROVAL_INPUT = 'toolcage/approval';

/** One caller's view of the tasks: what a per-request server needs. */
export interface CallerTasks {
  service: TaskService;
  principal: Principal;
  /** Runs a task's call as this caller (the tools' `callTool`, with the caller's identity). */
  run: RunCall;
}

/** The caller's view of the tasks for one request: its calls run through `tools` with its identity. */
export function callerTasks(
  service: TaskService | undefined,
  principal: Principal | undefined,
  tools: ToolcageTools,
  authInfo: AuthInfo | undefined,
): CallerTasks | undefined {
  if (!service || !principal) return undefined;
  return {
    service,
    principal,
    // Not the poll's abort signal: a run, once started, finishes and settles the task for every poller.
    run: (call) =>
      tools.callTool(call, {
        signal: new AbortController().signal,
        ...(authInfo ? { authInfo } : {}),
        requestInfo: { headers: {} },
      } as Parameters<ToolcageTools['callTool']>[1]),
  };
}

/** Whether this request's `_meta` envelope declares the Tasks extension (2026-07-28 only). */
export function declaresTasks(envelope: unknown): boolean {
  const caps = (envelope as Record<string, unknown> | undefined)?.[CLIENT_CAPABILITIES_META_KEY] as
    { extensions?: Record<string, unknown> } | undefined;
  const ext = caps?.extensions?.[TASKS_EXTENSION];
  return ext !== null && typeof ext === 'object' && !Array.isArray(ext);
}

const iso = (ms: number) => new Date(ms).toISOString();

/** A task record as the extension's wire shape (`DetailedTask`). */
export function wireTask(r: TaskRecord, pollIntervalMs: number): Record<string, unknown> {
  const base = {
    taskId: r.id,
    createdAt: iso(r.createdAtMs),
    lastUpdatedAt: iso(r.updatedAtMs),
    ttlMs: r.retainUntilMs - r.createdAtMs,
  };
  switch (r.phase) {
    case 'waiting':
      if (!r.prompted)
        return {
          ...base,
          status: 'input_required',
          statusMessage: r.message,
          pollIntervalMs,
          inputRequests: {
            [TASK_APPROVAL_INPUT]: inputRequired.elicitUrl({
              message: r.message,
              url: r.consoleUrl,
            }),
          },
        };
      return {
        ...base,
        status: 'working',
        statusMessage: `Waiting for a human decision on approval request ${r.approvalId}: ${r.consoleUrl}`,
        pollIntervalMs,
      };
    case 'running':
      return {
        ...base,
        status: 'working',
        statusMessage: `Approval request ${r.approvalId} was approved; the call is running.`,
        pollIntervalMs,
      };
    case 'completed':
      // The call's result as a 2026-07-28 `tools/call` answers it (`resultType` is required there).
      return {
        ...base,
        status: 'completed',
        result: { ...(r.result ?? { content: [] }), resultType: 'complete' },
      };
    case 'failed':
      return {
        ...base,
        status: 'failed',
        error: r.error ?? { code: -32603, message: 'The task failed.' },
      };
    case 'cancelled':
      return { ...base, status: 'cancelled' };
  }
}

/** A ToolcageError as the JSON-RPC error a task method answers with. */
function rpcError(err: unknown): unknown {
  if (!(err instanceof ToolcageError)) return err;
  // Unknown, expired and another identity's tasks are one answer: invalid params, as for an unknown tool.
  const callers = err.code === 'task_not_found' || err.code === 'request_invalid';
  return new RpcError(callers ? -32602 : -32603, `${err.code}: ${err.message}`, { code: err.code });
}

const taskIdParams = z.looseObject({ taskId: z.string().min(1).max(200) });
// The SDK lifts `inputResponses` out of the params (as for a multi round-trip retry) into the context.
const updateParams = z.looseObject({
  taskId: z.string().min(1).max(200),
  inputResponses: z.record(z.string(), z.unknown()).optional(),
});

/** Advertises the extension and serves its methods for `caller`. */
export function installTasks(server: Server, caller: CallerTasks): void {
  const { service, principal, run } = caller;
  const owner = taskOwner(principal);
  server.registerCapabilities({ extensions: { [TASKS_EXTENSION]: {} } });
  server.setRequestHandler('tasks/get', { params: taskIdParams }, async (params) => {
    try {
      return wireTask(
        await service.get(owner, params.taskId, run),
        service.pollIntervalMs,
      ) as never;
    } catch (err) {
      throw rpcError(err);
    }
  });
  server.setRequestHandler('tasks/update', { params: updateParams }, async (params, ctx) => {
    try {
      const answers = params.inputResponses ?? ctx.mcpReq.inputResponses ?? {};
      // Any answer to the URL elicitation (accept, decline, cancel) only means the person was told:
      // the approval itself is decided in the console, never by this exchange.
      if (Object.hasOwn(answers, TASK_APPROVAL_INPUT))
        await service.acknowledge(owner, params.taskId);
      else await service.find(owner, params.taskId);
      return {} as never;
    } catch (err) {
      throw rpcError(err);
    }
  });
  server.setRequestHandler('tasks/cancel', { params: taskIdParams }, async (params) => {
    try {
      await service.cancel(owner, params.taskId);
      return {} as never;
    } catch (err) {
      throw rpcError(err);
    }
  });
}

/**
 * The task a `tools/call` answers with, when the client declared the
 * extension and the call waits for a human approval; undefined otherwise
 * (the result goes out as it is).
 */
export async function offerTask(options: {
  caller: CallerTasks;
  envelope: unknown;
  call: TaskRecord['call'];
  result: CallToolResult;
}): Promise<Record<string, unknown> | undefined> {
  if (!options.result.isError || !declaresTasks(options.envelope)) return undefined;
  const { service, principal } = options.caller;
  let task: TaskRecord | undefined;
  try {
    task = await service.create({
      owner: taskOwner(principal),
      subject: principal.sub,
      tenant: principal.tenant,
      call: options.call,
      refusal: options.result,
    });
  } catch {
    // No task store or trail right now (state_unavailable, audit_unavailable): the plain
    // approval_required result still tells the person what to approve, and a retry works.
    return undefined;
  }
  if (!task) return undefined;
  return { ...wireTask(task, service.pollIntervalMs), resultType: 'task' };
}
