/**
 * A real runner (workspace, registry, isolated-vm, credential lanes, egress
 * boundary) for egress and credential tests, with every log it writes
 * captured: the audit sink and the egress log.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryAuditSink } from '../../src/audit/audit.ts';
import type { EgressEvent, Resolver } from '../../src/egress/index.ts';
import { createRunner, type Runner } from '../../src/runtime/runner.ts';
import { forge } from '../helpers/forge.ts';
import { requestId } from '../helpers/runner.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';

export interface KitTool {
  id: string;
  source: string;
  egress: Array<{ host: string; port: number }>;
  credentials?: Array<{
    lane: string;
    as: string;
    scopes?: string[];
    expose?: 'egress' | 'file' | 'env';
  }>;
  scopes?: string[];
  timeoutMs?: number;
}

export interface Kit {
  ws: Workspace;
  runner: Runner;
  audit: MemoryAuditSink;
  egressLog: EgressEvent[];
  call(toolId: string, args?: unknown, scope?: string[]): Promise<unknown>;
  /** Every log line the runner wrote during the test, as text. */
  logText(): string;
  close(): Promise<void>;
}

export function writeEgressTool(ws: Workspace, t: KitTool): void {
  const folder = join(ws.manifests, t.id);
  mkdirSync(folder, { recursive: true });
  const manifest = {
    id: t.id,
    version: '1.0.0',
    description: `Test tool ${t.id}.`,
    runtime: 'js',
    entry: 'tool.js',
    inputSchema: { type: 'object', additionalProperties: true },
    outputSchema: { type: 'object', additionalProperties: true },
    limits: { timeoutMs: t.timeoutMs ?? 5000, memoryMb: 32, maxOutputBytes: 65536 },
    network: t.egress.length > 0 ? { egress: t.egress } : 'none',
    scopes: t.scopes ?? ['test:run'],
    risk: 'low',
    credentials: (t.credentials ?? []).map((c) => ({ scopes: [], expose: 'egress', ...c })),
    cost: 1,
  };
  writeFileSync(join(folder, 'manifest.yaml'), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(join(folder, 'tool.js'), t.source);
}

export async function startKit(options: {
  tools: KitTool[];
  config?: string;
  resolver?: Resolver;
  files?: Record<string, string>;
}): Promise<Kit> {
  const ws = await makeWorkspace({
    prefix: 'toolcage-egress-',
    config: (text) => `${text}${options.config ?? ''}`,
  });
  for (const [name, content] of Object.entries(options.files ?? {}))
    writeFileSync(ws.path(name), content, { mode: 0o600 });
  for (const t of options.tools) writeEgressTool(ws, t);
  await ws.relock();
  ws.reload();
  const audit = new MemoryAuditSink();
  const egressLog: EgressEvent[] = [];
  const runner = await createRunner(ws.loaded, {
    backends: ['js'],
    audit,
    onEgress: (e) => egressLog.push(structuredClone(e)),
    ...(options.resolver ? { egressResolver: options.resolver } : {}),
  });
  const js = runner.backends.js!;
  for (let i = 0; i < 500 && !(await js.health()).usable; i++)
    await new Promise((r) => setTimeout(r, 20));
  return {
    ws,
    runner,
    audit,
    egressLog,
    async call(toolId, args = {}, scope = ['test:run']) {
      const claim = await forge(ws.brokerKey, { tool: toolId, args, scope });
      return (await runner.executor.execute({ toolId, args, claim, requestId: requestId() }))
        .result;
    },
    logText: () => [...audit.events, ...egressLog].map((e) => JSON.stringify(e)).join('\n'),
    async close() {
      await runner.close();
      ws.cleanup();
    },
  };
}
