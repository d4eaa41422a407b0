/**
 * The toolcage tools on an SDK v2 `Server`: what the 2026-07-28 era over
 * Streamable HTTP builds per request (modern.ts), and what stdio pins for its
 * one connection in either era (stdio.ts). The handlers only translate: the
 * claim, the approval and the governors are the executor's, whatever the era.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import {
  CLIENT_CAPABILITIES_META_KEY,
  inputRequired,
  ProtocolError as RpcError,
  Server,
  type AuthInfo,
  type ClientCapabilities,
} from '@modelcontextprotocol/server';
import { APPROVAL_ELICITATION_TIMEOUT_MS, approvalToOpen } from './approval-prompts.ts';
import type { ToolcageTools } from './delegate.ts';
import { ProtocolError } from './results.ts';
import { installTasks, offerTask, type CallerTasks } from './tasks/task-wire.ts';
import { TaskServer } from './tasks/task-server.ts';
import { MCP_INSTRUCTIONS, MCP_SERVER_INFO } from './server-info.ts';

/** The key of the approval's URL elicitation in an `input_required` result (and the client's answer). */
export const APPROVAL_INPUT = 'toolcage/approval';

export interface ToolcageServerOptions {
  tools: ToolcageTools;
  /** The verified caller (HTTP); stdio has none (its principal is the config's). */
  authInfo?: AuthInfo | undefined;
  /** Advertise `tools.listChanged` (a connection that lives long enough to hear of reloads). */
  listChanged?: boolean;
  /** The Tasks extension for this caller (src/mcp/tasks/); none: not advertised. */
  tasks?: CallerTasks | undefined;
}

/**
 * A v2 server serving the toolcage tools. A refusal that names a pending
 * approval request with a console page is answered, to a client that
 * declared URL-mode elicitation, with `input_required` carrying a URL
 * elicitation of that page (SEP-2322, 2026-07-28); the client's retry then
 * runs the call once, whatever the approval's state. Toward a 2025-era
 * client the SDK's legacy shim turns the same answer into an
 * `elicitation/create` request and re-invokes the handler with the answer.
 * Nothing rides in `requestState`: the broker finds the approval by the
 * call's envelope, so a forged retry gains nothing. With `tasks`, a client
 * that declared the Tasks extension gets a task instead (src/mcp/tasks/).
 */
export function createToolcageServer(options: ToolcageServerOptions): Server {
  const { tools, authInfo } = options;
  // Only a server that serves tasks lets a task past the SDK's tools/call result check.
  const server = new (options.tasks ? TaskServer : Server)(MCP_SERVER_INFO, {
    capabilities: { tools: options.listChanged ? { listChanged: true } : {} },
    instructions: MCP_INSTRUCTIONS,
    // Toward a 2025-era client the shim's elicitation waits for a person, as the v1 path does.
    inputRequired: { roundTimeoutMs: APPROVAL_ELICITATION_TIMEOUT_MS },
  });
  if (options.tasks) installTasks(server, options.tasks);
  // The v1 and v2 type packages describe the same wire shapes in different words.
  server.setRequestHandler('tools/list', async () => ({
    tools: (await tools.listTools()) as never,
  }));
  server.setRequestHandler('tools/call', async (request, ctx) => {
    const traceparent = ctx.http?.req?.headers.get('traceparent') ?? undefined;
    let result: CallToolResult;
    try {
      result = await tools.callTool(
        request.params as Parameters<typeof tools.callTool>[0],
        {
          signal: ctx.mcpReq.signal,
          ...(authInfo ? { authInfo } : {}),
          requestInfo: { headers: traceparent ? { traceparent } : {} },
        } as Parameters<typeof tools.callTool>[1],
      );
    } catch (err) {
      // The v2 server sends its own ProtocolError's code as is; ours would become -32603.
      if (err instanceof ProtocolError) throw new RpcError(err.code, err.message);
      throw err;
    }
    // A client that declared the Tasks extension gets a task that completes once a human decides.
    if (options.tasks) {
      const { name, arguments: args } = request.params as { name: string; arguments?: never };
      const task = await offerTask({
        caller: options.tasks,
        envelope: ctx.mcpReq.envelope,
        call: { name, ...(args ? { arguments: args } : {}) },
        result,
      });
      if (task) return task as never;
    }
    // The retry after the person was sent to the console: its result, whatever it is.
    if (ctx.mcpReq.inputResponses?.[APPROVAL_INPUT] !== undefined) return result as never;
    const approval = approvalToOpen(result);
    // The capabilities this request declared (2026-07-28 envelope), else the connection's (2025 initialize).
    const declared =
      ((ctx.mcpReq.envelope as Record<string, unknown> | undefined)?.[
        CLIENT_CAPABILITIES_META_KEY
      ] as ClientCapabilities | undefined) ?? server.getClientCapabilities();
    if (!approval || !declared?.elicitation?.url) return result as never;
    return inputRequired({
      inputRequests: {
        [APPROVAL_INPUT]: inputRequired.elicitUrl({ message: approval.message, url: approval.url }),
      },
    });
  });
  return server;
}
