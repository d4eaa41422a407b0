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
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import {
  createMcpHandler,
  inputRequired,
  ProtocolError as RpcError,
  Server,
  type McpHttpHandler,
} from '@modelcontextprotocol/server';
import type { Principal } from './claim-provider.ts';
import { ProtocolError } from './results.ts';
import { approvalToOpen } from './approval-prompts.ts';
import { MCP_INSTRUCTIONS, MCP_SERVER_INFO } from './server-info.ts';
import type { McpSessions } from './sessions.ts';

/** The key of the approval's URL elicitation in an `input_required` result (and the client's answer). */
const APPROVAL_INPUT = 'toolcage/approval';

export function createModernHandler(service: McpSessions): McpHttpHandler {
  return createMcpHandler(
    ({ authInfo }) => {
      const principal = authInfo?.extra?.principal as Principal | undefined;
      const tools = service.requestTools(() => principal);
      const server = new Server(MCP_SERVER_INFO, {
        capabilities: { tools: {} },
        instructions: MCP_INSTRUCTIONS,
      });
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
        // The retry after the person was sent to the console (multi round-trip): its result, whatever it is.
        if (ctx.mcpReq.inputResponses?.[APPROVAL_INPUT] !== undefined) return result as never;
        const approval = approvalToOpen(result);
        if (!approval || !server.getClientCapabilities()?.elicitation?.url) return result as never;
        // SEP-2322 (2026-07-28): no server-to-client request; the client opens the URL and retries.
        // Nothing rides in requestState: the broker finds the approval by the call's envelope.
        return inputRequired({
          inputRequests: {
            [APPROVAL_INPUT]: inputRequired.elicitUrl({
              message: approval.message,
              url: approval.url,
            }),
          },
        });
      });
      return server;
    },
    // 2025-era requests never reach this handler: http.ts serves them with sessions.
    { legacy: 'reject' },
  );
}
