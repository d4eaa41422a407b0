/**
 * `node --no-node-snapshot bench/mcp.ts`: a JS tool call through the MCP
 * Streamable HTTP server (`toolcage mcp --port`) with the SDK client, next to
 * the direct HTTP runner call (`toolcage serve`'s app) in the same run. Both
 * mint a fresh claim per call with the same in-process broker, so the
 * difference is what the MCP layer costs: JSON-RPC framing, the SDK transport,
 * bearer verification of the client's identity token.
 */
import { pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  Client as ModernClient,
  StreamableHTTPClientTransport as ModernTransport,
} from '@modelcontextprotocol/client';
import { loadConfig } from '../src/config/load.ts';
import { ToolcageMcpService } from '../src/runtime/mcp-service.ts';
import { startMcpHttp } from '../src/mcp/http.ts';
import { IdentityVerifier } from '../src/identity/verifier.ts';
import { createIdp, createWorkspace } from '../test/mcp/helpers.ts';
import { formatRow, measureInterleaved, type Figures } from './stats.ts';

export interface BenchMcpOptions {
  n?: number;
  warmup?: number;
  log?: (line: string) => void;
}

export interface BenchMcpResult {
  /** The 2025-11-25 era: the SDK v1 client in a session. */
  mcp: Figures;
  /** The 2026-07-28 era: the SDK v2 client, stateless (what issue 14's target measures). */
  modern: Figures;
  direct: Figures;
  /** What the direct figure measured: the runner's HTTP app, or the in-process executor when src/http is absent. */
  directKind: 'http' | 'in-process';
  ratioP50: number;
  modernRatioP50: number;
}

export async function benchMcp(opts: BenchMcpOptions = {}): Promise<BenchMcpResult> {
  const n = opts.n ?? 2000;
  const warmup = opts.warmup ?? 200;
  const log = opts.log ?? ((line: string) => console.log(line));
  const ws = await createWorkspace();
  const idp = await createIdp(ws.dir);
  // Governors off (the session caps too: the MCP session is bound into every claim): the bench
  // measures the call path, not the limits, which would trip at thousands of calls.
  ws.appendConfig(
    `mcp:\n  identity:\n    issuer: ${idp.issuer}\n    jwksFile: keys/idp.jwks.json\ngovernors:\n  rateLimits: { principal: { enabled: false }, tool: { enabled: false }, tenant: { enabled: false } }\n  spend: { enabled: false }\n  sessions: { enabled: false }\n  breaker: { enabled: false }\n`,
  );
  const loaded = loadConfig(ws.config);
  const service = await ToolcageMcpService.create(loaded, { backends: ['js'], log: () => {} });
  const server = await startMcpHttp({
    service,
    port: 0,
    authorizationServers: [idp.issuer],
    identity: (aud) =>
      new IdentityVerifier({
        defaultTenant: 'default',
        tokens: { issuer: idp.issuer, audience: aud, keys: { jwksFile: idp.jwksFile } },
      }),
  });
  const token = await idp.token({
    sub: 'local-user',
    roles: ['admin'],
    aud: server.url,
    expSeconds: 3600,
  });
  const client = new Client({ name: 'bench', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(server.url), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );

  // The current era: no session, every request carries its version and capabilities.
  const modern = new ModernClient(
    { name: 'bench-modern', version: '1.0.0' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } } },
  );
  await modern.connect(
    new ModernTransport(new URL(server.url), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  if (modern.getProtocolEra() !== 'modern')
    throw new Error('the v2 client did not negotiate 2026-07-28');

  // The direct path: the runner's own HTTP app over the same executor, or the executor itself.
  const { createBrokerRuntime } = await import('../src/runtime/broker.ts');
  const { createRunner } = await import('../src/runtime/runner.ts');
  const runner = await createRunner(loaded, { backends: ['js'] });
  const broker = await createBrokerRuntime(loaded, {
    stores: runner.stores,
    registry: runner.registry,
  });
  const principal = { sub: 'local-user', roles: ['admin'], tenant: 'default' };
  let directKind: 'http' | 'in-process' = 'in-process';
  let direct: (args: unknown) => Promise<unknown> = async (args) => {
    const { claim } = await broker.broker.issueClaim({
      tool: 'text.word_count',
      args,
      ...principal,
    });
    return runner.executor.execute({ toolId: 'text.word_count', args, claim, requestId: 'bench' });
  };
  let closeApp = async () => {};
  const httpModule = await import('../src/http/runner-app.ts').catch(() => undefined);
  if (httpModule?.buildRunnerApp) {
    const app = httpModule.buildRunnerApp(runner.executor, { logLevel: 'silent' });
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    closeApp = () => app.close();
    directKind = 'http';
    direct = async (args) => {
      const { claim } = await broker.broker.issueClaim({
        tool: 'text.word_count',
        args,
        ...principal,
      });
      const res = await fetch(`${address}/v1/tools/text.word_count/invoke`, {
        method: 'POST',
        headers: { authorization: `Bearer ${claim}`, 'content-type': 'application/json' },
        body: JSON.stringify({ args }),
      });
      if (res.status !== 200) throw new Error(`direct call: ${res.status} ${await res.text()}`);
      return res.json();
    };
  }

  try {
    // Interleaved rounds (one MCP call, one direct call): both see the same machine conditions.
    const mcpName = 'MCP Streamable HTTP (SDK client) text.word_count';
    const modernName = 'MCP 2026-07-28 stateless (SDK v2) text.word_count';
    const directName =
      directKind === 'http'
        ? 'direct HTTP runner (POST /invoke) text.word_count'
        : 'direct in-process executor text.word_count';
    const r = await measureInterleaved(
      {
        [mcpName]: async (i) => {
          const res = await client.callTool({
            name: 'text.word_count',
            arguments: { text: `call number ${i}` },
          });
          if (res.isError) throw new Error(`MCP call failed: ${JSON.stringify(res.content)}`);
        },
        [modernName]: async (i) => {
          const res = await modern.callTool({
            name: 'text.word_count',
            arguments: { text: `modern number ${i}` },
          });
          if (res.isError) throw new Error(`MCP call failed: ${JSON.stringify(res.content)}`);
        },
        [directName]: (i) => direct({ text: `direct number ${i}` }),
      },
      { n, warmup },
    );
    const mcp = r[mcpName]!;
    const directFigures = r[directName]!;
    const modernFigures = r[modernName]!;
    const ratioP50 = mcp.p50 / directFigures.p50;
    const modernRatioP50 = modernFigures.p50 / directFigures.p50;
    log(formatRow(directFigures));
    log(formatRow(mcp, directFigures, 'direct'));
    log(formatRow(modernFigures, directFigures, 'direct'));
    return {
      mcp,
      modern: modernFigures,
      direct: directFigures,
      directKind,
      ratioP50,
      modernRatioP50,
    };
  } finally {
    await client.close();
    await modern.close();
    await server.close();
    await closeApp();
    await broker.close();
    await runner.close();
    await service.close();
    ws.cleanup();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await benchMcp({ n: Number(process.env.BENCH_N ?? 2000) });
}
