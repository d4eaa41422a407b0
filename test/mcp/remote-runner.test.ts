import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { loadConfig } from '../../src/config/load.ts';
import { createRunner, type Runner } from '../../src/runtime/runner.ts';
import { buildRunnerApp } from '../../src/http/runner-app.ts';
import { ToolcageMcpService } from '../../src/runtime/mcp-service.ts';
import { HttpRunnerClient } from '../../src/mcp/runner-client.ts';
import { callRaw, createWorkspace, errorOf, type Workspace } from './helpers.ts';

describe('toolcage mcp with a remote runner by URL (HttpRunnerClient against the runner HTTP app on loopback)', () => {
  let ws: Workspace;
  let runner: Runner;
  let app: ReturnType<typeof buildRunnerApp>;
  let base: string;
  let service: ToolcageMcpService;
  let client: Client;

  beforeAll(async () => {
    ws = await createWorkspace();
    const loaded = loadConfig(ws.config);
    runner = await createRunner(loaded, { backends: ['js'] });
    app = buildRunnerApp(runner.executor, { logLevel: 'silent' });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    service = await ToolcageMcpService.create(loaded, { runnerUrl: base, log: () => {} });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    const principal = service.localPrincipal();
    await service.createServer(() => principal).connect(serverSide);
    client = new Client({ name: 'remote-test', version: '1.0.0' });
    await client.connect(clientSide);
  });

  afterAll(async () => {
    await client?.close();
    await service?.close();
    await app?.close();
    await runner?.close();
    ws?.cleanup();
  });

  it('lists the remote runner’s tools and runs a call through it with a broker claim', async () => {
    expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual(
      runner.executor
        .listTools()
        .map((t) => t.id)
        .sort(),
    );
    expect(
      (await client.callTool({ name: 'text.word_count', arguments: { text: 'a b c d' } }))
        .structuredContent,
    ).toEqual({ words: 4, lines: 1, characters: 7 });
  });

  it('carries the runner’s contract error codes back as isError results', async () => {
    expect(errorOf(await callRaw(client, 'text.word_count', { text: 1 })).code).toBe(
      'input_invalid',
    );
    expect(errorOf(await callRaw(client, 'test.loop_forever', {})).code).toBe('timeout');
    expect(errorOf(await callRaw(client, 'test.wrong_shape', {})).code).toBe('output_invalid');
  });

  it('maps a contract error body to a ToolcageError with the same code, and an unreachable runner to sandbox_unavailable', async () => {
    const http = new HttpRunnerClient({ baseUrl: base });
    await expect(
      http.invoke({
        toolId: 'text.word_count',
        args: { text: 'x' },
        claim: 'not-a-claim',
        requestId: 'r1',
      }),
    ).rejects.toMatchObject({ code: 'claim_malformed' });
    const down = new HttpRunnerClient({ baseUrl: 'http://127.0.0.1:9' });
    await expect(down.listTools()).rejects.toMatchObject({ code: 'sandbox_unavailable' });
  });
});
