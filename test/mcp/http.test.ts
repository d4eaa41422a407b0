import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  LATEST_PROTOCOL_VERSION,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { loadConfig } from '../../src/config/load.ts';
import { ToolcageMcpService } from '../../src/runtime/mcp-service.ts';
import { startMcpHttp, type McpHttpServer } from '../../src/mcp/http.ts';
import { IdentityVerifier } from '../../src/identity/verifier.ts';
import {
  callRaw,
  createIdp,
  createWorkspace,
  errorOf,
  eventually,
  type TestIdp,
  type Workspace,
} from './helpers.ts';

const INIT = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: {
    protocolVersion: LATEST_PROTOCOL_VERSION,
    capabilities: {},
    clientInfo: { name: 'raw', version: '1' },
  },
};

async function connect(url: string, token: string, onListChanged?: () => void): Promise<Client> {
  const client = new Client({ name: 'toolcage-http-test', version: '1.0.0' });
  if (onListChanged)
    client.setNotificationHandler(ToolListChangedNotificationSchema, onListChanged);
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  return client;
}

function postInit(url: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body: JSON.stringify(INIT),
  });
}

describe('toolcage mcp over Streamable HTTP on loopback (SDK Client, bearer identity)', () => {
  let ws: Workspace;
  let idp: TestIdp;
  let service: ToolcageMcpService;
  let server: McpHttpServer;
  let aliceToken: string;
  let alice: Client;
  let listChanged = 0;

  beforeAll(async () => {
    ws = await createWorkspace();
    idp = await createIdp(ws.dir);
    ws.appendConfig(
      `mcp:\n  identity:\n    issuer: ${idp.issuer}\n    jwksFile: keys/idp.jwks.json\n`,
    );
    const loaded = loadConfig(ws.config);
    service = await ToolcageMcpService.create(loaded, { backends: ['js'], log: () => {} });
    service.watchLock();
    const id = loaded.config.mcp.identity!;
    server = await startMcpHttp({
      service,
      port: 0,
      authorizationServers: [idp.issuer],
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
    aliceToken = await idp.token({ sub: 'alice', roles: ['admin'], aud: server.url });
    alice = await connect(server.url, aliceToken, () => {
      listChanged += 1;
    });
  });

  afterAll(async () => {
    await alice?.close();
    await server?.close();
    await service?.close();
    ws?.cleanup();
  });

  it('refuses a request without a bearer token with 401 and WWW-Authenticate naming the resource metadata', async () => {
    const res = await postInit(server.url);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(
      `Bearer resource_metadata="${server.resourceMetadataUrl}"`,
    );
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unauthenticated');
  });

  it('publishes RFC 9728 protected resource metadata: this resource and its authorization server', async () => {
    for (const url of [
      server.resourceMetadataUrl,
      new URL('/.well-known/oauth-protected-resource', server.url).href,
    ]) {
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({
        resource: server.url,
        authorization_servers: [idp.issuer],
        bearer_methods_supported: ['header'],
      });
    }
  });

  it.each([
    [
      'a token issued for another resource (RFC 8707 audience)',
      async () => idp.token({ sub: 'alice', roles: ['admin'], aud: 'https://other.example/mcp' }),
      /audience/,
    ],
    [
      'a token signed by a key the identity provider never published',
      async () => idp.token({ sub: 'alice', roles: ['admin'], aud: server.url }, idp.otherKey),
      /signature/,
    ],
    [
      'a token from another issuer',
      async () =>
        idp.token({ sub: 'alice', roles: ['admin'], aud: server.url, iss: 'https://evil.example' }),
      /issuer/,
    ],
    [
      'an expired token',
      async () => idp.token({ sub: 'alice', roles: ['admin'], aud: server.url, expSeconds: -120 }),
      /expired/,
    ],
    ['a token that is not a JWT', async () => 'not-a-jwt', /not a valid JWT/],
  ])('refuses %s with 401 invalid_token', async (_name, make, reason) => {
    const res = await postInit(server.url, { authorization: `Bearer ${await make()}` });
    expect(res.status).toBe(401);
    const header = res.headers.get('www-authenticate')!;
    expect(header).toMatch(
      /^Bearer error="invalid_token", error_description="[^"]+", resource_metadata="/,
    );
    expect(header).toMatch(reason);
    expect(header).toContain(`resource_metadata="${server.resourceMetadataUrl}"`);
  });

  it('lists exactly the registry allowlist', async () => {
    const registry = await ws.registry();
    const { tools } = await alice.listTools();
    expect(tools.map((t) => [t.name, t.inputSchema, t.outputSchema]).sort()).toEqual(
      registry
        .list()
        .map((t) => [t.manifest.id, t.manifest.inputSchema, t.manifest.outputSchema])
        .sort(),
    );
  });

  it('runs a call with validated structuredContent and a text rendering', async () => {
    const result = await alice.callTool({
      name: 'data.json_query',
      arguments: { document: { a: { b: 7 } }, pointers: ['/a/b', '/x'] },
    });
    expect(result.structuredContent).toEqual({
      results: [
        { pointer: '/a/b', found: true, value: 7 },
        { pointer: '/x', found: false },
      ],
    });
    expect(JSON.parse((result.content as Array<{ text: string }>)[0]!.text)).toEqual(
      result.structuredContent,
    );
  });

  it('maps refusals and failed runs to isError results carrying the contract code', async () => {
    expect(errorOf(await callRaw(alice, 'text.word_count', { words: 'x' })).code).toBe(
      'input_invalid',
    );
    expect(errorOf(await callRaw(alice, 'test.loop_forever', {})).code).toBe('timeout');
    expect(errorOf(await callRaw(alice, 'test.wrong_shape', {})).code).toBe('output_invalid');
    const approval = errorOf(
      await callRaw(alice, 'repo.apply_patch', {
        files: { f: 'x' },
        edits: [{ path: 'f', find: 'x', replace: 'y' }],
      }),
    );
    expect(approval.code).toBe('approval_required');
    expect(approval.details).toMatchObject({
      approvalId: expect.stringMatching(/^apr_/),
      status: 'pending',
    });
    await expect(callRaw(alice, 'nope.missing', {})).rejects.toMatchObject({ code: -32602 });
  });

  it("takes the principal's roles from the token: a role the policy does not grant the tool is refused", async () => {
    const bob = await connect(
      server.url,
      await idp.token({ sub: 'bob', roles: ['support'], aud: server.url }),
    );
    try {
      expect(
        (await bob.callTool({ name: 'text.word_count', arguments: { text: 'a b' } }))
          .structuredContent,
      ).toEqual({ words: 2, lines: 1, characters: 3 });
      const denied = await callRaw(bob, 'data.json_query', { document: {}, pointers: ['/a'] });
      expect(errorOf(denied).code).toBe('policy_denied');
    } finally {
      await bob.close();
    }
  });

  it("answers another subject's use of a session id as an unknown session (404)", async () => {
    const opened = await postInit(server.url, { authorization: `Bearer ${aliceToken}` });
    const sessionId = opened.headers.get('mcp-session-id')!;
    expect(sessionId).toBeTruthy();
    const mallory = await idp.token({ sub: 'mallory', roles: ['admin'], aud: server.url });
    const res = await fetch(server.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${mallory}`,
        'mcp-session-id': sessionId,
        'mcp-protocol-version': LATEST_PROTOCOL_VERSION,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    });
    expect(res.status).toBe(404);
  });

  it('never passes the client token through: the audit trail names the subject, never the token', async () => {
    await alice.callTool({ name: 'text.word_count', arguments: { text: 'audit me' } });
    const audit = readFileSync(join(ws.dir, '.toolcage', 'audit.log'), 'utf8');
    expect(audit).toContain('"subject":"alice"');
    expect(audit).not.toContain(aliceToken);
    expect(audit).not.toContain(aliceToken.split('.')[2]!);
  });

  it('binds the MCP session id into the claim: the audit line names the session', async () => {
    await alice.callTool({ name: 'text.word_count', arguments: { text: 'session me' } });
    const audit = readFileSync(join(ws.dir, '.toolcage', 'audit.log'), 'utf8');
    // Canonical JSON (RFC 8785) orders keys: "session" comes before "subject" on the call's line.
    expect(audit).toMatch(/"session":"[0-9a-f]{8}-[0-9a-f-]{27}"[^\n]*"subject":"alice"/);
  });

  it('sends notifications/tools/list_changed over the session stream when the registry is re-locked', async () => {
    const before = listChanged;
    ws.writeTool(
      'text.echo',
      `id: text.echo
version: 1.0.0
description: Echoes a text.
runtime: js
entry: echo.js
inputSchema: { type: object, properties: { text: { type: string } }, required: [text], additionalProperties: false }
outputSchema: { type: object, properties: { text: { type: string } }, required: [text], additionalProperties: false }
limits: { timeoutMs: 1000, memoryMb: 32, maxOutputBytes: 1024 }
scopes: [text:read]
risk: low
`,
      'export default function run({ text }) { return { text }; }\n',
    );
    await ws.relock();
    await eventually(() => listChanged > before, 10_000, 'list_changed');
    expect((await alice.listTools()).tools.map((t) => t.name)).toContain('text.echo');
  });

  it('withholds a tool whose pin changed when the new lock does not verify, and serves it again after a good re-lock', async () => {
    const lockFile = join(ws.manifests, 'registry.lock.json');
    const lock = JSON.parse(readFileSync(lockFile, 'utf8'));
    const entry = lock.tools.find((t: { id: string }) => t.id === 'text.echo');
    entry.artifactSha256 = '0'.repeat(64);
    const before = listChanged;
    const { writeFileSync } = await import('node:fs');
    writeFileSync(lockFile, JSON.stringify(lock));
    await eventually(() => listChanged > before, 10_000, 'list_changed after a bad lock');
    expect((await alice.listTools()).tools.map((t) => t.name)).not.toContain('text.echo');
    const refused = await callRaw(alice, 'text.echo', { text: 'x' });
    expect(errorOf(refused).code).toBe('registry_invalid');
    const again = listChanged;
    await ws.relock();
    await eventually(() => listChanged > again, 10_000, 'list_changed after the good lock');
    expect(
      (await alice.callTool({ name: 'text.echo', arguments: { text: 'back' } })).structuredContent,
    ).toEqual({ text: 'back' });
  });
});
