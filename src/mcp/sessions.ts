import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { Principal } from './claim-provider.ts';
import type { ToolHandlerExtra } from './delegate.ts';

/**
 * What the MCP transports (stdio, Streamable HTTP) need of the service the
 * composition root builds (src/runtime/mcp-service.ts): one SDK server per
 * session, and the configured local principal for stdio.
 */
export interface McpSessions {
  /** A new SDK server for one session, serving the registry's tools and told about registry changes. */
  createServer(principal: (extra: ToolHandlerExtra) => Principal | undefined): Server;
  /** The config's local principal (stdio). */
  localPrincipal(): Principal;
}
