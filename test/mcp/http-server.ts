/**
 * `toolcage mcp` over Streamable HTTP for client tests: a fresh workspace, a
 * test identity provider (its JWKS in the workspace), the MCP service with the
 * JS backend, and a token for alice issued for the server's resource URL.
 */
import { loadConfig } from '../../src/config/load.ts';
import { IdentityVerifier } from '../../src/identity/verifier.ts';
import { startMcpHttp, type McpHttpServer } from '../../src/mcp/http.ts';
import { ToolcageMcpService } from '../../src/runtime/mcp-service.ts';
import { createIdp, createWorkspace, type Workspace } from './helpers.ts';
import { patchConfig } from './broker-process.ts';

export interface McpHttpFixture {
  ws: Workspace;
  service: ToolcageMcpService;
  server: McpHttpServer;
  /** alice, admin, issued for `server.url`. */
  token: string;
  close(): Promise<void>;
}

/** `patch` is merged into the workspace's config before the service starts. */
export async function startMcpHttpFixture(
  patch: Record<string, unknown> = {},
): Promise<McpHttpFixture> {
  const ws = await createWorkspace();
  const idp = await createIdp(ws.dir);
  ws.appendConfig(
    `mcp:\n  identity:\n    issuer: ${idp.issuer}\n    jwksFile: keys/idp.jwks.json\n`,
  );
  patchConfig(ws.config, patch);
  const loaded = loadConfig(ws.config);
  const service = await ToolcageMcpService.create(loaded, { backends: ['js'], log: () => {} });
  const server = await startMcpHttp({
    service,
    port: 0,
    authorizationServers: [idp.issuer],
    identity: (resourceUrl) =>
      new IdentityVerifier({
        defaultTenant: 'default',
        tokens: {
          issuer: idp.issuer,
          audience: resourceUrl,
          keys: { jwksFile: loaded.path('keys/idp.jwks.json') },
        },
      }),
  });
  const token = await idp.token({ sub: 'alice', roles: ['admin'], aud: server.url });
  return {
    ws,
    service,
    server,
    token,
    async close() {
      await server.close();
      await service.close();
      ws.cleanup();
    },
  };
}
