/**
 * The 2026-07-28 protocol era over Streamable HTTP, on the SDK v2 server
 * packages: stateless, one fresh server per request (no `initialize`, no
 * `Mcp-Session-Id`), `server/discover`, the per-request `_meta` envelope, and
 * the `Mcp-Method` / `Mcp-Name` routing headers checked against the body by
 * the SDK before any handler (so before any policy) runs. Nothing that
 * protects a call depends on the request's era: the claim, the approval and
 * the governors are the same for both.
 *
 * `http.ts` routes 2025-era requests (which open with `initialize`) to its
 * sessionful path and everything else here.
 */
import { createMcpHandler, type McpHttpHandler } from '@modelcontextprotocol/server';
import type { Principal } from './claim-provider.ts';
import type { McpSessions } from './sessions.ts';
import { createToolcageServer } from './v2-server.ts';
import { callerTasks } from './tasks/task-wire.ts';

export function createModernHandler(service: McpSessions): McpHttpHandler {
  return createMcpHandler(
    ({ authInfo }) => {
      const principal = authInfo?.extra?.principal as Principal | undefined;
      const tools = service.requestTools(() => principal);
      return createToolcageServer({
        tools,
        authInfo,
        tasks: callerTasks(service.tasks, principal, tools, authInfo),
      });
    },
    // 2025-era requests never reach this handler: http.ts serves them with sessions.
    { legacy: 'reject' },
  );
}
