import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { McpSessions } from './sessions.ts';

/**
 * `toolcage mcp` over stdio: one session, the config's local principal
 * (`subject`, `tenant`, roles from the policy's `principals`). Resolves when
 * the client closes stdin. Stdout carries only protocol messages.
 */
export async function serveStdio(service: McpSessions): Promise<void> {
  const principal = service.localPrincipal();
  const server = service.createServer(() => principal);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    server.onclose = ((previous) => () => {
      previous?.();
      resolve();
    })(server.onclose);
  });
  await server.connect(transport);
  process.stdin.once('end', () => void server.close());
  await closed;
}
