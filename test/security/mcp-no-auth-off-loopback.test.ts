// Attack (misconfiguration an attacker hopes for): the development switch that serves every MCP
// HTTP caller as the local principal, without a token, bound to a reachable address. It is
// refused on any host but loopback, before anything listens.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { ToolcageMcpService } from '../../src/runtime/mcp-service.ts';
import { startMcpHttp } from '../../src/mcp/http.ts';
import { createWorkspace, type Workspace } from '../mcp/helpers.ts';

let ws: Workspace;
let service: ToolcageMcpService;
beforeAll(async () => {
  ws = await createWorkspace();
  service = await ToolcageMcpService.create(loadConfig(ws.config), {
    backends: ['js'],
    log: () => {},
  });
});
afterAll(async () => {
  await service?.close();
  ws?.cleanup();
});

it.each(['0.0.0.0', '::', '192.0.2.10', 'example.test'])(
  'refuses insecureNoAuth on %s',
  async (host) => {
    await expect(
      startMcpHttp({
        service,
        host,
        port: 0,
        authorizationServers: [],
        insecureLocalPrincipal: service.localPrincipal(),
      }),
    ).rejects.toMatchObject({
      code: 'config_invalid',
      message: expect.stringMatching(/loopback host only/),
    });
  },
);

it('serves it on loopback, as the local principal', async () => {
  const server = await startMcpHttp({
    service,
    host: '127.0.0.1',
    port: 0,
    authorizationServers: [],
    insecureLocalPrincipal: service.localPrincipal(),
  });
  try {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
  } finally {
    await server.close();
  }
});
