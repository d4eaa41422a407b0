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
    annotations: {
      readOnlyHint: t.risk === 'low',
      destructiveHint: t.risk === 'high',
      openWorldHint: false,
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

/**
 * Every refused or failed run, the MCP way (spec 2025-11-25, "Error Handling"):
 * a tool result with `isError: true` that the model can read and act on, the
 * contract's code and message in `structuredContent.error`, and the same as
 * text. `tool_not_allowed` is the exception: an unknown tool is a protocol
 * error (JSON-RPC -32602), as the spec asks.
 */
/** This transport's words for the next steps core errors point at. */
const MCP_HINTS: TransportHints = { list_tools: 'List the allowed tools with tools/list.' };

export function errorResult(err: unknown, requestId: string, toolName?: string): CallToolResult {
  const e = toToolcageError(err);
  if (e.code === 'tool_not_allowed') throw unknownTool(toolName);
  const message = e.messageFor(MCP_HINTS);
  const error: Record<string, unknown> = { code: e.code, message, requestId };
  if (e.retryAfterSeconds !== undefined) error.retryAfterSeconds = e.retryAfterSeconds;
  if (e.details) error.details = e.details;
  let text = `${e.code}: ${message}`;
  if (e.retryAfterSeconds !== undefined && !/retry after/i.test(message))
    text += ` Retry after ${e.retryAfterSeconds} s.`;
  return { content: [{ type: 'text', text }], structuredContent: { error }, isError: true };
}
