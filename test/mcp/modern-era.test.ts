// The 2026-07-28 protocol era over Streamable HTTP: the SDK v2 client pinned to that revision
// lists and calls tools statelessly (no initialize, no session), sees refusals through its stock
// callTool(), and a request whose Mcp-Method / Mcp-Name headers disagree with its body is refused
// before any policy runs. The same server keeps serving 2025-era clients with sessions
// (test/mcp/http.test.ts, test/mcp/sdk-v2-client.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { errorOf } from './helpers.ts';
import { startMcpHttpFixture, type McpHttpFixture } from './http-server.ts';

const MODERN = '2026-07-28';

describe('toolcage mcp in the 2026-07-28 era (SDK v2 client, stateless)', () => {
  let f: McpHttpFixture;
  let token: string;
  let client: Client;

  beforeAll(async () => {
    f = await startMcpHttpFixture();
    token = f.token;
    client = new Client(
      { name: 'toolcage-modern-test', version: '1.0.0' },
      { versionNegotiation: { mode: { pin: MODERN } } },
    );
    await client.connect(
      new StreamableHTTPClientTransport(new URL(f.server.url), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
  });
  afterAll(async () => {
    await client?.close();
    await f?.close();
  });

  it('negotiates the modern era', () => {
    expect(client.getProtocolEra()).toBe('modern');
  });

  it('lists and calls tools without a session', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain('text.word_count');
    const result = await client.callTool({ name: 'text.word_count', arguments: { text: 'x y' } });
    expect(result.structuredContent).toEqual({ words: 2, lines: 1, characters: 3 });
  });

  it('shows a refusal through callTool() with the code in text', async () => {
    const result = await client.callTool({ name: 'text.word_count', arguments: { text: 7 } });
    expect(result.isError).toBe(true);
    expect((result.content as Array<{ text: string }>)[0]!.text).toMatch(/^input_invalid: /);
    expect(errorOf(result as { _meta?: Record<string, unknown> }).code).toBe('input_invalid');
  });

  it('refuses a request whose Mcp-Name header names another tool than its body, before running anything', async () => {
    const body = {
      jsonrpc: '2.0',
      id: 9,
      method: 'tools/call',
      params: {
        name: 'repo.apply_patch',
        arguments: { path: 'x', edits: [] },
        _meta: {
          'io.modelcontextprotocol/protocolVersion': MODERN,
          'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
          'io.modelcontextprotocol/clientCapabilities': {},
        },
      },
    };
    const res = await fetch(f.server.url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': MODERN,
        'mcp-method': 'tools/call',
        'mcp-name': 'text.word_count',
      },
      body: JSON.stringify(body),
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    const answer = (await res.json()) as { error?: { code: number; message: string } };
    expect(res.status).toBe(400);
    expect(answer.error?.message).toMatch(
      /headers and body disagree.*Mcp-Name header names "text\.word_count"/,
    );
  });

  it('serves a re-locked registry from the next stateless request on', async () => {
    // No session hears list_changed in this era: each request reads the registry as it is then.
    f.ws.writeTool(
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
    expect((await client.listTools()).tools.map((t) => t.name)).not.toContain('text.echo');
    await f.ws.relock();
    expect(await f.service.reload()).toBe(true);
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('text.echo');
    const result = await client.callTool({ name: 'text.echo', arguments: { text: 'new' } });
    expect(result.structuredContent).toEqual({ text: 'new' });
  });

  it('still refuses a request without a bearer token', async () => {
    const res = await fetch(f.server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'mcp-protocol-version': MODERN },
      body: '{}',
    });
    expect(res.status).toBe(401);
  });
});
