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
import { z } from 'zod';
import { ToolcageError } from '../errors/toolcage-error.ts';
import type { ToolSummary } from '../ports/execute.ts';
import type { ClaimProvider, Principal } from './claim-provider.ts';
import type { RunnerClient } from './runner-client.ts';
import { elicitApproval } from './approval-prompts.ts';
import {
  APPROVAL_META_KEY,
  errorResult,
  ProtocolError,
  successResult,
  toMcpTool,
  unknownTool,
} from './results.ts';

export type ToolHandlerExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/**
 * What a `tools/call` needs of its request context, whichever SDK line or
 * protocol era carried it: the abort signal, the verified identity, and the
 * HTTP headers (for `traceparent`). The v1 handler extra is one.
 */
export type ToolCallContext = Pick<
  ToolHandlerExtra,
  'signal' | 'authInfo' | 'requestInfo' | 'sessionId'
>;

/** The caller's trace context: `_meta.traceparent` (MCP), else the HTTP request's `traceparent` header. */
function traceparentOf(
  meta: Record<string, unknown> | undefined,
  extra: ToolCallContext,
): string | undefined {
  const fromMeta = meta?.traceparent;
  if (typeof fromMeta === 'string') return fromMeta;
  const header = extra.requestInfo?.headers?.traceparent;
  return typeof header === 'string' ? header : undefined;
}

/** `tools/call` with params of any shape, so that a malformed one reaches our own check. */
const anyToolsCall = z.object({ method: z.literal('tools/call'), params: z.unknown() });

/** JSON-RPC -32602 naming what is wrong with the params, in words a person can fix. */
function malformedCall(
  issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>,
): ProtocolError {
  const what = issues
    .slice(0, 3)
    .map((i) => `${i.path.map(String).join('.') || 'params'}: ${i.message}`)
    .join('; ');
  return new ProtocolError(
    RpcErrorCode.InvalidParams,
    `Invalid tools/call params (${what}). Send {"name": "<tool id>", "arguments": {…}}.`,
  );
}

export interface ToolcageToolsOptions {
  runner: RunnerClient;
  claims: ClaimProvider;
  /**
   * Who is calling. Stdio: a fixed local principal. HTTP: derived from the
   * verified bearer token (`extra.authInfo`). Return undefined to refuse the
   * call (`unauthenticated`).
   */
  principal: (extra: ToolCallContext) => Principal | undefined;
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
    extra: ToolCallContext,
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
  const server: Server =
    'server' in target && typeof (target as McpServer).server?.setRequestHandler === 'function'
      ? (target as McpServer).server
      : (target as Server);
  const tools = createToolcageTools(options, async () => {
    if (!server.transport) return;
    await server.sendToolListChanged().catch(() => undefined);
  });
  if (options.install !== false) {
    server.registerCapabilities({ tools: { listChanged: true } });
    server.setRequestHandler(ListToolsRequestSchema, async () => ({
      tools: await tools.listTools(),
    }));
    // The params are checked here rather than by the SDK, whose own parse failure is answered as
    // an internal error (-32603) carrying a schema dump: a malformed call is the caller's -32602.
    server.setRequestHandler(anyToolsCall, async (request, extra) => {
      const parsed = CallToolRequestSchema.safeParse(request);
      if (!parsed.success) throw malformedCall(parsed.error.issues);
      const params = parsed.data.params as Parameters<typeof tools.callTool>[0];
      const call = () => tools.callTool(params, extra);
      // A client that can open a URL is sent to the approval's console page, then the call is retried once.
      return elicitApproval({ server, result: await call(), retry: call, signal: extra.signal });
    });
  }
  return tools;
}

/**
 * The toolcage tools' handlers, apart from any SDK server: what
 * `registerToolcageTools` installs on a v1 server and the 2026-07-28 handler
 * serves per request. `notify` sends `notifications/tools/list_changed` where
 * the transport can carry it.
 */
export function createToolcageTools(
  options: ToolcageToolsOptions,
  notify: () => Promise<void> = async () => {},
): ToolcageTools {
  for (const k of ['runner', 'claims'] as const)
    if (!options?.[k]) throw new TypeError(`Expected options.${k}, got ${String(options?.[k])}`);
  if (typeof options.principal !== 'function')
    throw new TypeError(
      `Expected options.principal to be a function, got ${typeof options.principal}`,
    );
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
          // The MCP session (Streamable HTTP) is the agent's conversation: bound into the claim.
          ...(extra.sessionId ? { session: extra.sessionId } : {}),
        });
        const traceparent = traceparentOf(params._meta, extra);
        const outcome = await options.runner.invoke({
          toolId: name,
          args,
          claim,
          requestId,
          signal: extra.signal,
          ...(traceparent ? { traceparent } : {}),
        });
        return successResult(outcome.result, outcome.invocationId);
      } catch (err) {
        if (err instanceof ProtocolError) throw err;
        return errorResult(err, requestId, name);
      }
    },

    notifyToolsChanged: notify,
  };
  return tools;
}
