import { randomUUID } from 'node:crypto';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  CallToolRequestSchema,
  ErrorCode as RpcErrorCode,
  ListToolsRequestSchema,
  type CallToolResult,
  type ServerNotification,
  type ServerRequest,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { ToolcageError } from '../errors/toolcage-error.ts';
import type { ToolSummary } from '../executor/types.ts';
import type { ClaimProvider, Principal } from './claim-provider.ts';
import type { RunnerClient } from './runner-client.ts';
import {
  APPROVAL_META_KEY,
  errorResult,
  ProtocolError,
  successResult,
  toMcpTool,
  unknownTool,
} from './results.ts';

export type ToolHandlerExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

export interface ToolcageToolsOptions {
  runner: RunnerClient;
  claims: ClaimProvider;
  /**
   * Who is calling. Stdio: a fixed local principal. HTTP: derived from the
   * verified bearer token (`extra.authInfo`). Return undefined to refuse the
   * call (`unauthenticated`).
   */
  principal: (extra: ToolHandlerExtra) => Principal | undefined;
  /**
   * Tools the caller must not be shown or served right now (a registry whose
   * re-lock failed to verify: their pinned hashes changed on disk). Default none.
   */
  withheld?: () => ReadonlySet<string>;
  /** Only these tool ids (default: every allowlisted tool). */
  filter?: (tool: ToolSummary) => boolean;
  /** Correlation id per call (default `req_<uuid>`). */
  requestId?: () => string;
}

/** What `registerToolcageTools` returns: the handlers, for composing with other tools, and the change signal. */
export interface ToolcageTools {
  /** The toolcage tools as MCP shows them now. */
  listTools(): Promise<Tool[]>;
  /** Serves one `tools/call`; throws a JSON-RPC error (ProtocolError) for an unknown tool or a malformed request. */
  callTool(
    params: { name: string; arguments?: Record<string, unknown>; _meta?: Record<string, unknown> },
    extra: ToolHandlerExtra,
  ): Promise<CallToolResult>;
  /** Sends `notifications/tools/list_changed` to this server's client (no-op when not connected). */
  notifyToolsChanged(): Promise<void>;
}

/**
 * Delegates an SDK MCP server's tools to a toolcage runner. Each `tools/call`
 * authenticates the principal, asks the claim provider for a claim for
 * exactly this tool and these arguments, invokes the runner, and returns the
 * validated output as `structuredContent` plus a text rendering. Refusals and
 * failed runs are `isError` results carrying `{ error: { code, message } }`;
 * an unknown tool is a JSON-RPC protocol error. The MCP client's own token
 * never reaches the runner: the runner sees only the broker's claim.
 *
 * Pass a low-level `Server` (or an `McpServer`, whose `.server` is used) with
 * no tool handlers of its own; to serve toolcage tools beside your own, pass
 * `install: false` and call the returned `listTools`/`callTool` from your handlers.
 *
 * @example
 * const server = new Server({ name: 'my-server', version: '1.0.0' }, { capabilities: { tools: { listChanged: true } } });
 * registerToolcageTools(server, {
 *   runner: new HttpRunnerClient({ baseUrl: 'http://127.0.0.1:8080' }),
 *   claims: new BrokerClaimProvider({ broker }),
 *   principal: () => ({ sub: 'alice', tenant: 'acme', roles: ['analyst'] }),
 * });
 * await server.connect(new StdioServerTransport());
 */
export function registerToolcageTools(
  target: Server | McpServer,
  options: ToolcageToolsOptions & { install?: boolean },
): ToolcageTools {
  for (const k of ['runner', 'claims'] as const)
    if (!options?.[k]) throw new TypeError(`Expected options.${k}, got ${String(options?.[k])}`);
  if (typeof options.principal !== 'function')
    throw new TypeError(
      `Expected options.principal to be a function, got ${typeof options.principal}`,
    );
  const server: Server =
    'server' in target && typeof (target as McpServer).server?.setRequestHandler === 'function'
      ? (target as McpServer).server
      : (target as Server);
  const newRequestId = options.requestId ?? (() => `req_${randomUUID()}`);
  const noneWithheld: ReadonlySet<string> = new Set();
  const withheld = options.withheld ?? (() => noneWithheld);

  async function visibleTools(): Promise<ToolSummary[]> {
    const hidden = withheld();
    return (await options.runner.listTools()).filter(
      (t) => !hidden.has(t.id) && (options.filter?.(t) ?? true),
    );
  }

  const tools: ToolcageTools = {
    async listTools() {
      return (await visibleTools()).map(toMcpTool);
    },

    async callTool(params, extra) {
      const requestId = newRequestId();
      const { name } = params;
      const args: unknown = params.arguments ?? {};
      if (withheld().has(name)) {
        return errorResult(
          new ToolcageError('registry_invalid', {
            message: `${name}'s pinned hashes changed and the new registry did not verify; it is withheld until \`toolcage registry lock\` produces a lock that verifies.`,
          }),
          requestId,
          name,
        );
      }
      // An unknown tool is a protocol error, not a tool result: the broker and the runner resolve the
      // id against the allowlist as it is now and refuse with tool_not_allowed, which errorResult maps.
      if (options.filter && !(await visibleTools()).some((t) => t.id === name)) {
        throw unknownTool(name);
      }
      try {
        const principal = options.principal(extra);
        if (!principal)
          throw new ToolcageError('unauthenticated', {
            message:
              'This MCP session has no authenticated principal; reconnect with a valid identity token.',
          });
        const metaApproval = params._meta?.[APPROVAL_META_KEY];
        if (metaApproval !== undefined && typeof metaApproval !== 'string') {
          throw new ProtocolError(
            RpcErrorCode.InvalidParams,
            `_meta["${APPROVAL_META_KEY}"] must be a string approval id.`,
          );
        }
        const claim = await options.claims.claimFor({
          toolId: name,
          args,
          principal,
          ...(metaApproval ? { approvalId: metaApproval } : {}),
          ...(extra.sessionId ? { session: extra.sessionId } : {}),
        });
        const outcome = await options.runner.invoke({
          toolId: name,
          args,
          claim,
          requestId,
          signal: extra.signal,
        });
        return successResult(outcome.result, outcome.invocationId);
      } catch (err) {
        if (err instanceof ProtocolError) throw err;
        return errorResult(err, requestId, name);
      }
    },

    async notifyToolsChanged() {
      if (!server.transport) return;
      await server.sendToolListChanged().catch(() => undefined);
    },
  };

  if (options.install !== false) {
    server.registerCapabilities({ tools: { listChanged: true } });
    server.setRequestHandler(ListToolsRequestSchema, async () => ({
      tools: await tools.listTools(),
    }));
    server.setRequestHandler(CallToolRequestSchema, (request, extra) =>
      tools.callTool(request.params as Parameters<typeof tools.callTool>[0], extra),
    );
  }
  return tools;
}
