// Interoperability with the MCP TypeScript SDK v2 client (@modelcontextprotocol/client, pinned),
// which a current agent host ships: it connects to `toolcage mcp` over Streamable HTTP with a
// bearer token, negotiates the 2025-11-25 protocol the server speaks, lists and calls tools, and
// shows a refusal through its stock callTool() (no output-schema complaint).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { errorOf } from './helpers.ts';
import { startMcpHttpFixture, type McpHttpFixture } from './http-server.ts';

describe('the SDK v2 client against toolcage mcp over Streamable HTTP', () => {
  let f: McpHttpFixture;
  let client: Client;

  beforeAll(async () => {
    f = await startMcpHttpFixture();
    const token = f.token;
    client = new Client({ name: 'toolcage-v2-client-test', version: '1.0.0' });
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

  it('lists the tools with their annotations', async () => {
    const { tools } = await client.listTools();
    const wc = tools.find((t) => t.name === 'text.word_count');
    expect(wc?.annotations).toMatchObject({ readOnlyHint: true, openWorldHint: false });
  });

  it('calls a tool and gets the validated output as structuredContent', async () => {
    const result = await client.callTool({ name: 'text.word_count', arguments: { text: 'a b c' } });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toEqual({ words: 3, lines: 1, characters: 5 });
  });

  it('shows bad arguments through callTool() as an isError result with the code in its text', async () => {
    const result = await client.callTool({ name: 'text.word_count', arguments: { text: 42 } });
    expect(result.isError).toBe(true);
    const text = (result.content as Array<{ text: string }>)[0]!.text;
    expect(text).toMatch(/^input_invalid: /);
    expect(errorOf(result as { _meta?: Record<string, unknown> }).code).toBe('input_invalid');
  });

  it('answers an unknown tool with a protocol error', async () => {
    await expect(client.callTool({ name: 'nope.missing', arguments: {} })).rejects.toThrow(
      /Unknown tool: nope\.missing/,
    );
  });
});
