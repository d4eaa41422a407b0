import { serveStdio as serveBothEras } from '@modelcontextprotocol/server/stdio';
import type { McpSessions } from './sessions.ts';
import { callerTasks } from './tasks/task-wire.ts';
import { createToolcageServer } from './v2-server.ts';

/**
 * `toolcage mcp` over stdio, on the SDK v2 stdio entry: the connection's
 * opening picks the era (a 2025-era `initialize`, or a 2026-07-28 request
 * with its `_meta` envelope) and one server is pinned for the connection's
 * lifetime. The caller is the config's local principal (`subject`, `tenant`,
 * roles from the policy's `principals`). Registry reloads reach the client as
 * `notifications/tools/list_changed`. Resolves when the client closes stdin.
 * Stdout carries only protocol messages.
 *
 * A 2026-07-28 connection is also offered the Tasks extension, as over
 * Streamable HTTP (modern.ts): the same task service on the same state store,
 * the tasks owned by the local principal. A 2025-era connection is not: that
 * era's `tasks` are another protocol (docs/mcp.md, "Approvals as tasks").
 */
export async function serveStdio(service: McpSessions): Promise<void> {
  const principal = service.localPrincipal();
  let stopWatching: (() => void) | undefined;
  await new Promise<void>((resolve) => {
    const handle = serveBothEras(
      ({ era }) => {
        const tools = service.requestTools(() => principal);
        const server = createToolcageServer({
          tools,
          listChanged: true,
          ...(era === 'modern'
            ? { tasks: callerTasks(service.tasks, principal, tools, undefined) }
            : {}),
        });
        // A discarded opening probe's server stops hearing of reloads: the pinned one is told.
        stopWatching?.();
        stopWatching = service.onToolsChanged(async () => {
          await server.sendToolListChanged().catch(() => undefined);
        });
        return server;
      },
      {
        legacy: 'serve',
        onerror: (err) => process.stderr.write(`toolcage mcp: ${err.message}\n`),
      },
    );
    process.stdin.once('end', () => void handle.close().finally(resolve));
    process.stdin.once('close', () => void handle.close().finally(resolve));
  });
  stopWatching?.();
}
