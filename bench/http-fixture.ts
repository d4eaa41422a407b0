/**
 * What the HTTP benches share: a workspace whose governors never refuse the
 * bench's load, claims minted ahead of the timed part, and one POST of the
 * invoke route over a keep-alive agent.
 */
import http from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { initWorkspace } from '../src/cli/workspace.ts';
import { loadConfig } from '../src/config/load.ts';
import { createBrokerRuntime } from '../src/runtime/broker.ts';

export const TOOL = 'text.word_count';

export interface MintedCall {
  claim: string;
  body: string;
  args: unknown;
}

/** A new workspace (`prefix` names its temp directory); `audit` writes the trail to a file. */
export async function benchWorkspace(opts: {
  prefix: string;
  workers: number;
  audit: boolean;
}): Promise<{ dir: string; configFile: string }> {
  const dir = mkdtempSync(join(tmpdir(), opts.prefix));
  await initWorkspace(dir);
  const configFile = join(dir, 'toolcage.config.yaml');
  const raw = parseYaml(readFileSync(configFile, 'utf8')) as Record<string, any>;
  const high = { capacity: 1_000_000, refillPerSecond: 1_000_000 };
  raw.sandbox = { js: { workers: opts.workers }, docker: { enabled: false } };
  raw.runner.http = { logLevel: 'warn' };
  if (opts.audit) raw.audit = { destination: 'file', file: '.toolcage/audit.log' };
  raw.governors = {
    rateLimits: { principal: high, tool: high, tenant: high },
    spend: { budget: 100_000_000, windowSeconds: 3600 },
    loopGuard: { enabled: false },
    concurrency: { maxConcurrent: 64, perTenantConcurrent: 64, maxQueuedPerTenant: 10_000 },
  };
  writeFileSync(configFile, stringifyYaml(raw, { aliasDuplicateObjects: false }));
  return { dir, configFile };
}

/** `n` claims for the bench's tool, each for its own arguments (`tag` keeps runs apart). */
export async function mintAll(configFile: string, n: number, tag: string): Promise<MintedCall[]> {
  const rt = await createBrokerRuntime(loadConfig(configFile));
  try {
    const out: MintedCall[] = [];
    for (let i = 0; i < n; i++) {
      const args = { text: `bench ${tag} ${i} counting a few words` };
      const { claim } = await rt.broker.issueClaim({
        tool: TOOL,
        args,
        sub: 'bench',
        roles: ['admin'],
        tenant: 'bench',
      });
      out.push({ claim, body: JSON.stringify({ args }), args });
    }
    return out;
  } finally {
    await rt.close();
  }
}

/** One invoke of the bench's tool at `url`; resolves with the status once the body has been read. */
export function invoke(
  agent: http.Agent,
  url: string,
  call: { claim: string; body: string },
  headers: Record<string, string> = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(`/v1/tools/${TOOL}/invoke`, url), {
      agent,
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(call.body),
        authorization: `Bearer ${call.claim}`,
        ...headers,
      },
    });
    req.once('response', (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
      res.once('error', reject);
    });
    req.once('error', reject);
    req.end(call.body);
  });
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}
