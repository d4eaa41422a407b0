// toolcage mcp over Streamable HTTP with a remote broker: the MCP caller's identity token names the
// subject and its roles, and the MCP server asserts them to the broker on the caller's behalf. The
// broker's policy bounds both: a subject outside the delegate grant, or a role the grant does not
// list, is refused (policy_denied) as an isError result the client shows.
import { randomBytes } from 'node:crypto';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { loadConfig } from '../../src/config/load.ts';
import { apiKeyHash, IdentityVerifier } from '../../src/identity/verifier.ts';
import { startMcpHttp, type McpHttpServer } from '../../src/mcp/http.ts';
import { createBrokerService, type BrokerService } from '../../src/runtime/broker-service.ts';
import { ToolcageMcpService } from '../../src/runtime/mcp-service.ts';
import { patchConfig } from './broker-process.ts';
import { createIdp, createWorkspace, errorOf, type TestIdp, type Workspace } from './helpers.ts';

const MCP_KEY = randomBytes(24).toString('base64url');

describe('toolcage mcp over Streamable HTTP with a remote broker, asserting the caller’s token roles', () => {
  let ws: Workspace;
  let idp: TestIdp;
  let broker: BrokerService;
  let service: ToolcageMcpService;
  let server: McpHttpServer;
  const clients: Client[] = [];

  async function connect(sub: string, roles: string[]): Promise<Client> {
    const token = await idp.token({ sub, roles, aud: server.url });
    const client = new Client(
      { name: `remote-http-${sub}`, version: '1.0.0' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    await client.connect(
      new StreamableHTTPClientTransport(new URL(server.url), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    ws = await createWorkspace();
    idp = await createIdp(ws.dir);
    appendFileSync(
      join(ws.dir, 'broker-policy.yaml'),
      'delegates:\n  mcp-delegate: { subjects: ["alice", "bob"], roles: [support] }\n',
    );
    patchConfig(ws.config, {
      sandbox: { docker: { enabled: false } },
      broker: {
        http: { logLevel: 'silent' },
        apiKeys: [
          {
            id: 'mcp',
            sha256: apiKeyHash(MCP_KEY),
            subject: 'mcp-gateway',
            roles: ['mcp-delegate'],
          },
        ],
      },
    });
    broker = await createBrokerService(loadConfig(ws.config));
    const brokerUrl = await broker.listen({ host: '127.0.0.1', port: 0 });
    writeFileSync(join(ws.dir, 'keys', 'mcp-broker.key'), MCP_KEY);
    patchConfig(ws.config, {
      mcp: { broker: { url: brokerUrl, apiKeyFile: 'keys/mcp-broker.key' } },
    });
    const loaded = loadConfig(ws.config);
    service = await ToolcageMcpService.create(loaded, { backends: ['js'], log: () => {} });
    server = await startMcpHttp({
      service,
      port: 0,
      authorizationServers: [idp.issuer],
      identity: (resourceUrl) =>
        new IdentityVerifier({
          defaultTenant: 'default',
          tokens: {
            issuer: idp.issuer,
            audience: resourceUrl,
            keys: { jwksFile: join(ws.dir, 'keys', 'idp.jwks.json') },
          },
        }),
    });
  });

  afterAll(async () => {
    for (const c of clients) await c.close();
    await server?.close();
    await service?.close();
    await broker?.shutdown();
    ws?.cleanup();
  });

  it('runs a call for a subject and role the delegate grant covers', async () => {
    const alice = await connect('alice', ['support']);
    const r = await alice.callTool({ name: 'text.word_count', arguments: { text: 'a b c' } });
    expect(r.isError ?? false, JSON.stringify(r)).toBe(false);
    expect(r.structuredContent).toEqual({ words: 3, lines: 1, characters: 5 });
  });

  it('refuses a caller whose token role the grant does not list, and a subject outside the grant', async () => {
    const admin = await connect('alice', ['admin']);
    const escalated = await admin.callTool({ name: 'text.word_count', arguments: { text: 'x' } });
    expect(errorOf(escalated as never)).toMatchObject({
      code: 'policy_denied',
      message: expect.stringMatching(/may not assert role admin for another subject/),
    });
    const carol = await connect('carol', ['support']);
    const outside = await carol.callTool({ name: 'text.word_count', arguments: { text: 'x' } });
    expect(errorOf(outside as never)).toMatchObject({
      code: 'policy_denied',
      message: expect.stringMatching(/on behalf of carol/),
    });
  });
});
