// `toolcage mcp` over stdio answers both protocol eras (the SDK v2 stdio entry pins one server per
// connection, its era chosen by the opening): the SDK v2 client pinned to 2026-07-28 lists, calls,
// sees refusals and protocol errors, and is sent to the approval's console page by input_required;
// the SDK v1 client (2025-11-25) that declares URL elicitation gets elicitation/create. The test
// acts as the person: it approves through the broker's HTTP API (a broker service on the same
// workspace state) when the elicitation arrives.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as StdioV1 } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { loadConfig } from '../../src/config/load.ts';
import { apiKeyHash } from '../../src/identity/verifier.ts';
import { createBrokerService, type BrokerService } from '../../src/runtime/broker-service.ts';
import { patchArgs } from '../helpers/runner.ts';
import { patchConfig } from './broker-process.ts';
import { callRaw, CLI, createWorkspace, errorOf, REPO, type Workspace } from './helpers.ts';

const OPS_KEY = randomBytes(24).toString('base64url');
const CONSOLE = 'https://console.example.test';

describe('toolcage mcp over stdio in both eras (spawned CLI)', () => {
  let ws: Workspace;
  let broker: BrokerService;
  let brokerUrl: string;
  const seen: Array<{ mode?: string; url?: string }> = [];

  async function approveFromPage(params: { mode?: string; url?: string }) {
    seen.push(params);
    const id = /\/console\/approvals\/(apr_[A-Za-z0-9_-]+)$/.exec(params.url ?? '')?.[1];
    if (!id) return { action: 'decline' as const };
    const r = await fetch(`${brokerUrl}/v1/approvals/${id}/approve`, {
      method: 'POST',
      headers: { 'x-api-key': OPS_KEY, 'content-type': 'application/json' },
      body: '{}',
    });
    if (r.status !== 200) throw new Error(`approve: ${r.status} ${await r.text()}`);
    return { action: 'accept' as const };
  }

  const spawnArgs = () => ({
    command: process.execPath,
    args: [CLI, 'mcp', '--config', ws.config, '--no-watch'],
    cwd: REPO,
    stderr: 'pipe' as const,
  });

  beforeAll(async () => {
    ws = await createWorkspace();
    patchConfig(ws.config, {
      sandbox: { docker: { enabled: false } },
      broker: {
        apiKeys: [{ id: 'ops', sha256: apiKeyHash(OPS_KEY), subject: 'ops', roles: ['approver'] }],
        console: { publicUrl: CONSOLE },
        http: { logLevel: 'silent' },
      },
    });
    broker = await createBrokerService(loadConfig(ws.config));
    brokerUrl = await broker.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await broker?.shutdown();
    ws?.cleanup();
  });

  describe('2026-07-28 (SDK v2 client, pinned)', () => {
    let client: Client;
    beforeAll(async () => {
      client = new Client(
        { name: 'stdio-modern', version: '1.0.0' },
        {
          capabilities: { elicitation: { url: {} } },
          versionNegotiation: { mode: { pin: '2026-07-28' } },
        },
      );
      client.setRequestHandler('elicitation/create', (request) =>
        approveFromPage(request.params as { mode?: string; url?: string }),
      );
      await client.connect(new StdioClientTransport(spawnArgs()));
    });
    afterAll(async () => {
      await client?.close();
    });

    it('negotiates the modern era over stdio', () => {
      expect(client.getProtocolEra()).toBe('modern');
    });

    it('lists and calls tools, and shows bad arguments through callTool() with the code in text', async () => {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain('text.word_count');
      const ok = await client.callTool({ name: 'text.word_count', arguments: { text: 'a b' } });
      expect(ok.structuredContent).toEqual({ words: 2, lines: 1, characters: 3 });
      const bad = await client.callTool({ name: 'text.word_count', arguments: { text: 1 } });
      expect(bad.isError).toBe(true);
      expect((bad.content as Array<{ text: string }>)[0]!.text).toMatch(/^input_invalid: /);
    });

    it('answers an unknown tool with a protocol error', async () => {
      await expect(client.callTool({ name: 'no.such_tool', arguments: {} })).rejects.toThrow(
        /Unknown tool: no\.such_tool/,
      );
    });

    it('sends the person to the approval’s console page (input_required) and runs the approved call on the retry', async () => {
      seen.length = 0;
      const r = await client.callTool({
        name: 'repo.apply_patch',
        arguments: patchArgs('stdio-v2'),
      });
      expect(r.isError ?? false, JSON.stringify(r)).toBe(false);
      expect(JSON.stringify(r.structuredContent)).toContain('stdio-v2 world');
      expect(seen).toEqual([
        expect.objectContaining({
          mode: 'url',
          url: expect.stringMatching(new RegExp(`^${CONSOLE}/console/approvals/apr_`)),
        }),
      ]);
    });
  });

  describe('2025-11-25 (SDK v1 client)', () => {
    let client: ClientV1;
    beforeAll(async () => {
      client = new ClientV1(
        { name: 'stdio-legacy', version: '1.0.0' },
        { capabilities: { elicitation: { url: {} } } },
      );
      client.setRequestHandler(ElicitRequestSchema, (request) =>
        approveFromPage(request.params as { mode?: string; url?: string }),
      );
      await client.connect(new StdioV1(spawnArgs()));
    });
    afterAll(async () => {
      await client?.close();
    });

    it('sends the person to the console page with elicitation/create in URL mode, then runs the approved call', async () => {
      seen.length = 0;
      const r = await callRaw(client, 'repo.apply_patch', patchArgs('stdio-v1'));
      expect(r.isError ?? false, JSON.stringify(r)).toBe(false);
      expect(JSON.stringify(r.structuredContent)).toContain('stdio-v1 world');
      expect(seen).toEqual([
        expect.objectContaining({
          mode: 'url',
          url: expect.stringMatching(new RegExp(`^${CONSOLE}/console/approvals/apr_`)),
        }),
      ]);
    });

    it('sends no elicitation for a refusal that names no pending approval', async () => {
      seen.length = 0;
      const first = await callRaw(client, 'test.wrong_shape', {});
      expect(errorOf(first).code).toBe('output_invalid');
      expect(seen).toHaveLength(0);
    });
  });
});
