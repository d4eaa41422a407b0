import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { ErrorCode as RpcErrorCode } from '@modelcontextprotocol/sdk/types.js';
import { toToolcageError, type TransportHints } from '../errors/toolcage-error.ts';
import type { ToolSummary } from '../ports/execute.ts';

/** Where an MCP client passes an explicit approval id on `tools/call` (`params._meta`). */
export const APPROVAL_META_KEY = 'toolcage/approvalId';

/**
 * A JSON-RPC error for the SDK to send as is. (The SDK's McpError prefixes its
 * message with "MCP error N:", and the client prefixes it again on receipt.)
 */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  readonly code: number;

  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

/** JSON-RPC -32602 for a tool the allowlist does not hold (spec 2025-11-25: unknown tools are protocol errors). */
export function unknownTool(name: unknown): ProtocolError {
  return new ProtocolError(
    RpcErrorCode.InvalidParams,
    `Unknown tool: ${String(name).slice(0, 200)} is not in the registry allowlist. List the tools with tools/list.`,
  );
}

/** A registry tool as MCP `tools/list` shows it: name = tool id, schemas verbatim from the pinned manifest. */
export function toMcpTool(t: ToolSummary): Tool {
  return {
    name: t.id,
    description: t.description,
    inputSchema: t.inputSchema as Tool['inputSchema'],
    outputSchema: t.outputSchema as NonNullable<Tool['outputSchema']>,
    ...(t.hints.title ? { title: t.hints.title } : {}),
    annotations: {
      ...(t.hints.title ? { title: t.hints.title } : {}),
      readOnlyHint: t.hints.readOnly,
      // The spec reads destructive/idempotent only when the tool is not read-only.
      destructiveHint: !t.hints.readOnly && t.hints.destructive,
      idempotentHint: t.hints.idempotent,
      openWorldHint: t.openWorld,
    },
    _meta: {
      'toolcage/version': t.version,
      'toolcage/risk': t.risk,
      'toolcage/scopes': t.scopes,
      'toolcage/runtime': t.runtime,
    },
  };
}

/** A validated result: `structuredContent` is the output itself; the text is its JSON for clients that read only text. */
export function successResult(output: unknown, invocationId: string): CallToolResult {
  const structured =
    output !== null && typeof output === 'object' && !Array.isArray(output)
      ? (output as Record<string, unknown>)
      : undefined;
  return {
    content: [{ type: 'text', text: JSON.stringify(output) }],
    ...(structured ? { structuredContent: structured } : {}),
    _meta: { 'toolcage/invocationId': invocationId },
  };
}

/** Where an error result carries the contract's error object, machine-readable (`_meta` is never schema-checked). */
export const ERROR_META_KEY = 'toolcage/error';

/** The details a person needs to act on, one per line, in the order they act on them. */
function detailLines(details: Record<string, unknown> | undefined, message: string): string[] {
  if (!details) return [];
  const lines: string[] = [];
  const str = (k: string): string | undefined =>
    typeof details[k] === 'string' ? (details[k] as string) : undefined;
  const approvalId = str('approvalId');
  if (approvalId) {
    const status = str('status');
    lines.push(`Approval request: ${approvalId}${status ? ` (${status})` : ''}`);
    const reason = str('reason');
    if (reason) lines.push(`Reason given: ${reason}`);
    const consoleUrl = str('consoleUrl');
    if (consoleUrl) lines.push(`Review it at: ${consoleUrl}`);
    const command = str('approveCommand');
    if (command && !message.includes(command)) lines.push(`Approve it with: ${command}`);
    const expiresAt = str('expiresAt');
    if (expiresAt) lines.push(`It expires at: ${expiresAt}`);
  }
  for (const [k, v] of Object.entries(details)) {
    if (['approvalId', 'status', 'reason', 'consoleUrl', 'approveCommand', 'expiresAt'].includes(k))
      continue;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
      lines.push(`${k}: ${String(v).slice(0, 500)}`);
  }
  return lines;
}

/** This transport's words for the next steps core errors point at. */
/**
 * The words an MCP client's user reads: the person beside the agent usually
 * holds the CLI, so the approval step names the console page and the command.
 */
const MCP_HINTS: TransportHints = {
  list_tools: 'List the allowed tools with tools/list.',
  approve_request: (h) =>
    `Ask an approver to approve it${h.consoleUrl ? ` at ${h.consoleUrl} or` : ''} with \`toolcage approvals approve ${h.requestId ?? 'ID'}\`.`,
  resume_session: (h) =>
    `Ask an approver to resume it in the console or with \`toolcage sessions resume ${h.session ?? 'ID'}\`.`,
};

/**
 * Every refused or failed run, the MCP way (spec 2025-11-25, "Error Handling"):
 * a tool result with `isError: true` that the model and the person can read
 * and act on. The text carries the contract's code, message and request id,
 * and for approvals the request id and where to approve it, because text is
 * what every client shows. No `structuredContent`: clients (the SDK's
 * `callTool()`, the Inspector) validate it against the tool's `outputSchema`
 * and would show a schema complaint instead of the refusal. The same error
 * object, machine-readable, is in `_meta["toolcage/error"]`.
 * `tool_not_allowed` is the exception: an unknown tool is a protocol error
 * (JSON-RPC -32602), as the spec asks.
 */
export function errorResult(err: unknown, requestId: string, toolName?: string): CallToolResult {
  const e = toToolcageError(err);
  if (e.code === 'tool_not_allowed') throw unknownTool(toolName);
  const message = e.messageFor(MCP_HINTS);
  const error: Record<string, unknown> = { code: e.code, message, requestId };
  if (e.retryAfterSeconds !== undefined) error.retryAfterSeconds = e.retryAfterSeconds;
  if (e.details) error.details = e.details;
  const lines = [`${e.code}: ${message}`, ...detailLines(e.details, message)];
  if (e.retryAfterSeconds !== undefined) lines.push(`Retry after: ${e.retryAfterSeconds} s`);
  lines.push(`Request id: ${requestId}`);
  return {
    content: [{ type: 'text', text: lines.join('\n') }],
    isError: true,
    _meta: { [ERROR_META_KEY]: error },
  };
}
