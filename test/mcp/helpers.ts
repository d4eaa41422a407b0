import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { CallToolResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { initWorkspace } from '../../src/cli/workspace.ts';
import { loadSigningKey, loadJwksFile } from '../../src/claims/keys.ts';
import { Registry } from '../../src/registry/registry.ts';
import { writeSignedLock } from '../../src/registry/lock-build.ts';
import { retire } from '../helpers/suite-output.ts';

export const REPO = new URL('../../', import.meta.url).pathname;
export const CLI = join(REPO, 'src/cli/main.ts');

/** Test-only tools: one that never ends, one that returns the wrong shape. */
const TEST_TOOLS: Record<string, { manifest: string; js: string }> = {
  'test.loop_forever': {
    manifest: `id: test.loop_forever
version: 1.0.0
description: Loops forever (test only; must end in timeout).
runtime: js
entry: loop.js
inputSchema: { type: object, properties: {}, additionalProperties: false }
outputSchema: { type: object, properties: { done: { type: boolean } }, required: [done], additionalProperties: false }
limits: { timeoutMs: 300, memoryMb: 32, maxOutputBytes: 1024 }
scopes: [test:run]
risk: low
`,
    js: 'export default function run() { for (;;) {} }\n',
  },
  'test.wrong_shape': {
    manifest: `id: test.wrong_shape
version: 1.0.0
description: Returns output that breaks its own schema (test only; must end in output_invalid).
runtime: js
entry: wrong.js
inputSchema: { type: object, properties: {}, additionalProperties: false }
outputSchema: { type: object, properties: { count: { type: integer } }, required: [count], additionalProperties: false }
limits: { timeoutMs: 1000, memoryMb: 32, maxOutputBytes: 1024 }
scopes: [test:run]
risk: low
`,
    js: 'export default function run() { return { count: "many" }; }\n',
  },
};

export interface Workspace {
  dir: string;
  config: string;
  manifests: string;
  /** Adds (or replaces) a JS tool's files; call `relock()` to pin it. */
  writeTool(id: string, manifest: string, js: string, entry?: string): void;
  relock(): Promise<void>;
  /** The registry as the lock pins it now (verified). */
  registry(): Promise<Registry>;
  appendConfig(yaml: string): void;
  cleanup(): void;
}

/** A fresh `toolcage init` workspace (JS tools only) plus the test-only tools, re-locked with its registry key. */
export async function createWorkspace(): Promise<Workspace> {
  const dir = mkdtempSync(join(tmpdir(), 'toolcage-mcp-'));
  await initWorkspace(dir, { force: true });
  const manifests = join(dir, 'tool-manifests');
  const ws: Workspace = {
    dir,
    config: join(dir, 'toolcage.config.yaml'),
    manifests,
    writeTool(id, manifest, js, entry) {
      const folder = join(manifests, id);
      mkdirSync(folder, { recursive: true });
      writeFileSync(join(folder, 'manifest.yaml'), manifest);
      writeFileSync(join(folder, entry ?? /entry: (\S+)/.exec(manifest)![1]!), js);
    },
    async relock() {
      await writeSignedLock(
        manifests,
        await loadSigningKey(join(dir, 'keys', 'registry.private.jwk.json')),
      );
    },
    registry() {
      return Registry.load({
        dir: manifests,
        lockKeys: loadJwksFile(join(dir, 'keys', 'registry.jwks.json')),
      });
    },
    appendConfig(yaml) {
      writeFileSync(ws.config, `${readFileSync(ws.config, 'utf8')}${yaml}`);
    },
    cleanup() {
      // Its audit trail stays for the suite's canary scan.
      retire(dir);
    },
  };
  for (const [id, t] of Object.entries(TEST_TOOLS)) ws.writeTool(id, t.manifest, t.js);
  await ws.relock();
  return ws;
}

/** `tools/call` without the SDK client's output validation, which (SDK 1.32, issue #1943) also runs on isError results. */
export async function callRaw(
  client: Client,
  name: string,
  args: Record<string, unknown>,
  meta?: Record<string, unknown>,
): Promise<CallToolResult> {
  return client.request(
    { method: 'tools/call', params: { name, arguments: args, ...(meta ? { _meta: meta } : {}) } },
    CallToolResultSchema,
  ) as Promise<CallToolResult>;
}

export function errorOf(result: { _meta?: Record<string, unknown> | undefined }): {
  code: string;
  message: string;
  retryAfterSeconds?: number;
  details?: Record<string, unknown>;
} {
  const error = result._meta?.['toolcage/error'];
  if (!error) throw new Error(`not an error result: ${JSON.stringify(result).slice(0, 300)}`);
  return error as ReturnType<typeof errorOf>;
}

/** A test identity provider: an ES256 key made here, tokens signed here, JWKS written to the workspace. */
export interface TestIdp {
  issuer: string;
  jwksFile: string;
  token(
    claims: {
      sub: string;
      roles?: string[];
      tenant?: string;
      aud: string;
      expSeconds?: number;
      iss?: string;
    },
    key?: CryptoKey,
  ): Promise<string>;
  otherKey: CryptoKey;
}

export async function createIdp(dir: string): Promise<TestIdp> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const other = await generateKeyPair('ES256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'idp-1', alg: 'ES256', use: 'sig' };
  const jwksFile = join(dir, 'keys', 'idp.jwks.json');
  writeFileSync(jwksFile, JSON.stringify({ keys: [jwk] }));
  const issuer = 'https://idp.test.invalid';
  return {
    issuer,
    jwksFile,
    otherKey: other.privateKey,
    async token(c, key = privateKey) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({
        ...(c.roles ? { roles: c.roles } : {}),
        ...(c.tenant ? { tenant: c.tenant } : {}),
      })
        .setProtectedHeader({ alg: 'ES256', kid: 'idp-1', typ: 'JWT' })
        .setIssuer(c.iss ?? issuer)
        .setSubject(c.sub)
        .setAudience(c.aud)
        .setIssuedAt(now)
        .setExpirationTime(now + (c.expSeconds ?? 300))
        .sign(key);
    },
  };
}

/** Resolves when `predicate` holds, polling; rejects after `ms`. */
export async function eventually(
  predicate: () => boolean,
  ms = 10_000,
  what = 'condition',
): Promise<void> {
  const until = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
