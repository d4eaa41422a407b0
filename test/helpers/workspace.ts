import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initWorkspace } from '../../src/cli/workspace.ts';
import { loadConfig, type LoadedConfig } from '../../src/config/load.ts';
import { loadSigningKey, type SigningKey } from '../../src/claims/keys.ts';
import { writeSignedLock } from '../../src/registry/lock-build.ts';
import { retire } from './suite-output.ts';

/** A fresh `toolcage init` workspace in a temp folder (JS example tools only, fresh dev keys, signed lock). */
export interface Workspace {
  dir: string;
  manifests: string;
  configFile: string;
  loaded: LoadedConfig;
  /** The broker's private signing key (what a real broker signs claims with). */
  brokerKey: SigningKey;
  /** The platform key that signs the registry lock. */
  registryKey: SigningKey;
  /** Absolute path of a workspace file. */
  path(...parts: string[]): string;
  /** Re-reads the config (after editing it). */
  reload(): LoadedConfig;
  /** Re-signs the lock over what is on disk now (the operator's `toolcage registry lock`). */
  relock(): Promise<void>;
  cleanup(): void;
}

export async function makeWorkspace(
  options: { prefix?: string; config?: (text: string) => string } = {},
): Promise<Workspace> {
  const dir = mkdtempSync(join(tmpdir(), options.prefix ?? 'toolcage-test-'));
  await initWorkspace(dir);
  const configFile = join(dir, 'toolcage.config.yaml');
  // One isolated-vm worker per test runner and no Docker: test files run two at a time on two cores.
  const base = `${readFileSync(configFile, 'utf8')}sandbox:\n  js: { workers: 1 }\n  docker: { enabled: false }\n`;
  writeFileSync(configFile, options.config ? options.config(base) : base);
  const brokerKey = await loadSigningKey(join(dir, 'keys', 'broker.private.jwk.json'));
  const registryKey = await loadSigningKey(join(dir, 'keys', 'registry.private.jwk.json'));
  const ws: Workspace = {
    dir,
    manifests: join(dir, 'tool-manifests'),
    configFile,
    loaded: loadConfig(configFile),
    brokerKey,
    registryKey,
    path: (...parts) => join(dir, ...parts),
    reload: () => (ws.loaded = loadConfig(configFile)),
    relock: async () => {
      await writeSignedLock(ws.manifests, registryKey);
    },
    // Its audit trail stays for the suite's canary scan.
    cleanup: () => retire(dir),
  };
  return ws;
}

export interface TestToolSpec {
  id: string;
  /** The module source: `export default function run(input, ctx) { ... }`. */
  source: string;
  inputSchema?: Record<string, unknown>;
  outputSchema?: Record<string, unknown>;
  limits?: { timeoutMs?: number; memoryMb?: number; maxOutputBytes?: number };
  scopes?: string[];
  scopeTemplates?: string[];
  risk?: 'low' | 'medium' | 'high';
}

/** Writes a JS tool (manifest + entry) into the workspace's manifests folder; call `relock()` to pin it. */
export function addTool(ws: Pick<Workspace, 'manifests'>, spec: TestToolSpec): string {
  const folder = join(ws.manifests, spec.id);
  mkdirSync(folder, { recursive: true });
  const limits = { timeoutMs: 1000, memoryMb: 32, maxOutputBytes: 4096, ...spec.limits };
  const manifest = {
    id: spec.id,
    version: '1.0.0',
    description: `Test tool ${spec.id}.`,
    runtime: 'js',
    entry: 'tool.js',
    inputSchema: spec.inputSchema ?? { type: 'object', additionalProperties: true },
    outputSchema: spec.outputSchema ?? { type: 'object', additionalProperties: true },
    limits,
    network: 'none',
    scopes: spec.scopes ?? ['test:run'],
    ...(spec.scopeTemplates ? { scopeTemplates: spec.scopeTemplates } : {}),
    risk: spec.risk ?? 'low',
    credentials: [],
    cost: 1,
  };
  // JSON is YAML: the manifest parser reads it as is.
  writeFileSync(join(folder, 'manifest.yaml'), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(join(folder, 'tool.js'), spec.source);
  return folder;
}

/** The tool ids the workspace lock pins (the example set changes as tools are added to the package). */
export function pinnedIds(ws: Workspace): string[] {
  const lock = JSON.parse(readFileSync(join(ws.manifests, 'registry.lock.json'), 'utf8')) as {
    tools: Array<{ id: string }>;
  };
  return lock.tools.map((t) => t.id).sort();
}
