// Attack: one identity opens Streamable HTTP sessions until the server's global maxSessions is
// reached; sessions never expired, so every other user got 503 until a restart. Each identity may
// now hold at most maxSessionsPerPrincipal sessions (one more is 429 with Retry-After), and a
// session idle for sessionIdleMs is closed, so the global cap cannot be held for good.
// The real MCP SDK client over HTTP, tokens from a test identity provider.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { loadConfig } from '../../src/config/load.ts';
import { ToolcageMcpService } from '../../src/runtime/mcp-service.ts';
import { startMcpHttp, type McpHttpServer } from '../../src/mcp/http.ts';
import { IdentityVerifier } from '../../src/identity/verifier.ts';
import { createIdp, createWorkspace, type TestIdp, type Workspace } from '../mcp/helpers.ts';

const PER_PRINCIPAL = 3;
const IDLE_MS = 800;

let ws: Workspace;
let idp: TestIdp;
let service: ToolcageMcpService;
/** Sessions never go idle here (the cap test); `quick` expires them after IDLE_MS. */
let server: McpHttpServer;
let quick: McpHttpServer;
const clients: Client[] = [];

async function connect(token: string, on: McpHttpServer = server): Promise<Client> {
  const client = new Client({ name: 'session-exhaustion', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(on.url), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  clients.push(client);
  return client;
}

beforeAll(async () => {
  ws = await createWorkspace();
  idp = await createIdp(ws.dir);
  ws.appendConfig(
    `mcp:\n  identity:\n    issuer: ${idp.issuer}\n    jwksFile: keys/idp.jwks.json\n`,
  );
  const loaded = loadConfig(ws.config);
  service = await ToolcageMcpService.create(loaded, { backends: ['js'], log: () => {} });
  const id = loaded.config.mcp.identity!;
  const start = (sessionIdleMs: number) =>
    startMcpHttp({
      service,
      port: 0,
      authorizationServers: [idp.issuer],
      maxSessions: 8,
      maxSessionsPerPrincipal: PER_PRINCIPAL,
      sessionIdleMs,
      identity: (resourceUrl) =>
        new IdentityVerifier({
          defaultTenant: 'default',
          tokens: {
            issuer: id.issuer,
            audience: resourceUrl,
            keys: { jwksFile: loaded.path(id.jwksFile!) },
          },
        }),
    });
  server = await start(600_000);
  quick = await start(IDLE_MS);
});
afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await server?.close();
  await quick?.close();
  await service?.close();
  ws?.cleanup();
});

describe('one identity opening MCP sessions without end', () => {
  it('is capped per identity (429 with Retry-After), and another identity still gets a session', async () => {
    const mallory = await idp.token({ sub: 'mallory', roles: ['admin'], aud: server.url });
    const held: Client[] = [];
    for (let i = 0; i < PER_PRINCIPAL; i++) held.push(await connect(mallory));
    await expect(connect(mallory)).rejects.toThrow(/429|Too many open MCP sessions/);

    // The refusal, as any HTTP client sees it.
    const raw = await fetch(server.url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${mallory}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-06-18',
          capabilities: {},
          clientInfo: { name: 'raw', version: '1' },
        },
      }),
    });
    expect(raw.status).toBe(429);
    expect(Number(raw.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await raw.json()) as { error: { message: string } }).error.message).toMatch(
      /for this identity \(3\)/,
    );

    const alice = await connect(
      await idp.token({ sub: 'alice', roles: ['admin'], aud: server.url }),
    );
    expect((await alice.listTools()).tools.length).toBeGreaterThan(0);
    await alice.close();
    for (const c of held) await c.close().catch(() => undefined);
  });

  it('loses sessions it leaves idle, so the caps free up without a restart', async () => {
    const mallory = await idp.token({ sub: 'mallory-2', roles: ['admin'], aud: quick.url });
    const idle: Client[] = [];
    for (let i = 0; i < PER_PRINCIPAL; i++) idle.push(await connect(mallory, quick));
    await new Promise((r) => setTimeout(r, IDLE_MS * 2 + 300));
    // Expired (their GET notification streams held open did not keep them): the old session id is
    // unknown (404), and new sessions open up to the cap again.
    await expect(idle[0]!.listTools()).rejects.toThrow(/404|Session not found/);
    for (let i = 0; i < PER_PRINCIPAL - 1; i++) await connect(mallory, quick);
    const again = await connect(mallory, quick);
    expect((await again.listTools()).tools.length).toBeGreaterThan(0);
  });
});
