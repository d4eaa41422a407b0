import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { initWorkspace } from '../../src/cli/workspace.ts';
import { loadConfig, type LoadedConfig } from '../../src/config/load.ts';
import { loadSigningKey, type SigningKey } from '../../src/claims/keys.ts';
import { writeSignedLock } from '../../src/registry/lock-build.ts';
import { SuiteAuditSink, captureLogLine, retire } from '../helpers/suite-output.ts';
import type { MemoryAuditSink } from '../../src/audit/audit.ts';
import { createRunnerService, type RunnerService } from '../../src/runtime/runner-service.ts';
import { createBrokerRuntime, type BrokerRuntime } from '../../src/runtime/broker.ts';
import type { IssuedClaim } from '../../src/broker/broker.ts';

/** Test-only JS tools added to a workspace (and re-locked). */
export const TEST_TOOLS: Record<string, { manifest: string; source: string }> = {
  'test.slow': {
    manifest: `id: test.slow
version: 1.0.0
description: Busy-waits for ms milliseconds (drain and fairness tests).
runtime: js
entry: slow.js
inputSchema: { type: object, properties: { ms: { type: integer, minimum: 0, maximum: 10000 }, n: { type: integer } }, required: [ms], additionalProperties: false }
outputSchema: { type: object, properties: { slept: { type: integer } }, required: [slept], additionalProperties: false }
limits: { timeoutMs: 8000, memoryMb: 32, maxOutputBytes: 1024 }
network: none
scopes: [test:run]
risk: low
credentials: []
cost: 1
`,
    source:
      'export default function run(input) { const end = Date.now() + input.ms; while (Date.now() < end) {} return { slept: input.ms }; }\n',
  },
  'test.spin': {
    manifest: `id: test.spin
version: 1.0.0
description: Never returns (timeout tests).
runtime: js
entry: spin.js
inputSchema: { type: object }
outputSchema: { type: object }
limits: { timeoutMs: 200, memoryMb: 32, maxOutputBytes: 1024 }
network: none
scopes: [test:run]
risk: low
credentials: []
cost: 1
`,
    source: 'export default function run() { for (;;) {} }\n',
  },
  'test.bad_output': {
    manifest: `id: test.bad_output
version: 1.0.0
description: Returns output that breaks its schema.
runtime: js
entry: bad.js
inputSchema: { type: object }
outputSchema: { type: object, properties: { ok: { type: boolean } }, required: [ok], additionalProperties: false }
limits: { timeoutMs: 1000, memoryMb: 32, maxOutputBytes: 1024 }
network: none
scopes: [test:run]
risk: low
credentials: []
cost: 1
`,
    source: 'export default function run() { return { ok: "yes", extra: 1 }; }\n',
  },
};

export interface Workspace {
  dir: string;
  configFile: string;
  loaded: LoadedConfig;
  brokerKey: SigningKey;
  cleanup(): void;
}

function merge(
  target: Record<string, unknown>,
  patch: Record<string, unknown>,
): Record<string, unknown> {
  for (const [k, v] of Object.entries(patch)) {
    const t = target[k];
    if (
      v &&
      typeof v === 'object' &&
      !Array.isArray(v) &&
      t &&
      typeof t === 'object' &&
      !Array.isArray(t)
    )
      merge(t as Record<string, unknown>, v as Record<string, unknown>);
    else target[k] = v;
  }
  return target;
}

/** A fresh workspace (initWorkspace) with the test tools, JS only, and `config` merged into its config file. */
export async function makeWorkspace(
  config: Record<string, unknown> = {},
  options: { policy?: string } = {},
): Promise<Workspace> {
  const dir = mkdtempSync(join(tmpdir(), 'toolcage-http-'));
  await initWorkspace(dir);
  const manifests = join(dir, 'tool-manifests');
  for (const [id, t] of Object.entries(TEST_TOOLS)) {
    mkdirSync(join(manifests, id), { recursive: true });
    writeFileSync(join(manifests, id, 'manifest.yaml'), t.manifest);
    const entry = /entry: (\S+)/.exec(t.manifest)![1]!;
    writeFileSync(join(manifests, id, entry), t.source);
  }
  await writeSignedLock(
    manifests,
    await loadSigningKey(join(dir, 'keys', 'registry.private.jwk.json')),
  );
  const configFile = join(dir, 'toolcage.config.yaml');
  const raw = parseYaml(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  merge(raw, {
    sandbox: { js: { workers: 1 }, docker: { enabled: false } },
    runner: { http: { logLevel: 'silent' } },
    broker: { http: { logLevel: 'silent' } },
  });
  merge(raw, config);
  writeFileSync(configFile, stringifyYaml(raw, { aliasDuplicateObjects: false }));
  if (options.policy) writeFileSync(join(dir, 'broker-policy.yaml'), options.policy);
  return {
    dir,
    configFile,
    loaded: loadConfig(configFile),
    brokerKey: await loadSigningKey(join(dir, 'keys', 'broker.private.jwk.json')),
    // Its audit trail stays for the suite's canary scan.
    cleanup: () => retire(dir),
  };
}

/** A pino logger writing into an array (to assert what is, and is not, logged), and for the canary scan. */
export function memoryLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      captureLogLine(String(chunk));
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

export interface RunningRunner {
  url: string;
  service: RunnerService;
  audit: MemoryAuditSink;
  logs: string[];
  close(): Promise<void>;
}

export async function waitReady(url: string, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await fetch(`${url}/readyz`).catch(() => undefined);
    if (r?.status === 200) return;
    if (Date.now() > until)
      throw new Error(`runner at ${url} not ready: ${r ? await r.text() : 'unreachable'}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

/** `toolcage serve` in-process on 127.0.0.1 and a free port, ready to run JS tools. */
export async function startRunner(ws: Workspace): Promise<RunningRunner> {
  const audit = new SuiteAuditSink();
  const { logger, lines } = memoryLogger();
  const service = await createRunnerService(ws.loaded, { audit, logger, backends: ['js'] });
  const url = await service.listen({ host: '127.0.0.1', port: 0 });
  await waitReady(url);
  return {
    url,
    service,
    audit,
    logs: lines,
    close: () => service.shutdown(2_000).then(() => undefined),
  };
}

/** The broker in-process, to mint claims the way `broker serve` does. */
export async function openBroker(ws: Workspace): Promise<BrokerRuntime> {
  return createBrokerRuntime(ws.loaded);
}

export interface MintOptions {
  sub?: string;
  tenant?: string;
  roles?: string[];
  scope?: string[];
  ttlSeconds?: number;
  approvalId?: string;
  dpopJkt?: string;
}

export function mint(
  broker: BrokerRuntime,
  tool: string,
  args: unknown,
  o: MintOptions = {},
): Promise<IssuedClaim> {
  return broker.broker.issueClaim({
    tool,
    args,
    sub: o.sub ?? 'local-user',
    roles: o.roles ?? ['admin'],
    tenant: o.tenant ?? 'default',
    ...(o.scope ? { scope: o.scope } : {}),
    ...(o.ttlSeconds !== undefined ? { ttlSeconds: o.ttlSeconds } : {}),
    ...(o.approvalId ? { approvalId: o.approvalId } : {}),
    ...(o.dpopJkt ? { dpopJkt: o.dpopJkt } : {}),
  });
}

export interface HttpResult {
  status: number;
  headers: Headers;
  body: any;
}

/** POST /v1/tools/{id}/invoke with a claim (and optional DPoP proof and extra headers). */
export async function invoke(
  url: string,
  tool: string,
  args: unknown,
  claim: string | undefined,
  headers: Record<string, string> = {},
): Promise<HttpResult> {
  const r = await fetch(`${url}/v1/tools/${encodeURIComponent(tool)}/invoke`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(claim !== undefined ? { authorization: `Bearer ${claim}` } : {}),
      ...headers,
    },
    body: JSON.stringify({ args }),
  });
  const text = await r.text();
  return { status: r.status, headers: r.headers, body: text ? JSON.parse(text) : undefined };
}

/** Mints a claim for exactly this call and invokes it. */
export async function call(
  url: string,
  broker: BrokerRuntime,
  tool: string,
  args: unknown,
  o: MintOptions = {},
): Promise<HttpResult> {
  const { claim } = await mint(broker, tool, args, o);
  return invoke(url, tool, args, claim);
}

export const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
