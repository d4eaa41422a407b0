import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { Principal } from './claim-provider.ts';
import type { ToolCallContext, ToolcageTools } from './delegate.ts';
import type { TaskService } from './tasks/task-service.ts';

/**
 * What the MCP transports (stdio, Streamable HTTP) need of the service the
 * composition root builds (src/runtime/mcp-service.ts): one SDK server per
 * 2025-era session, the tools' handlers for one stateless 2026-07-28 request,
 * and the configured local principal for stdio.
 */
export interface McpSessions {
  /** A new SDK server for one session, serving the registry's tools and told about registry changes. */
  createServer(principal: (extra: ToolCallContext) => Principal | undefined): Server;
  /** The tools' handlers for one stateless request (no session, no notifications). */
  requestTools(principal: (extra: ToolCallContext) => Principal | undefined): ToolcageTools;
  /** MCP Tasks for calls waiting on an approval (2026-07-28 clients); none when `mcp.tasks.enabled` is false. */
  readonly tasks?: TaskService | undefined;
  /** The config's local principal (stdio). */
  localPrincipal(): Principal;
  /** Calls `listener` after each registry reload that changed what is served; returns how to stop. */
  onToolsChanged(listener: () => void | Promise<void>): () => void;
}
