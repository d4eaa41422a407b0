/**
 * A JS tool call through the library API (claim verify + replay + governors
 * + input/output validation + sandbox run) against the raw floor measured in
 * the same run: jose verify of the same kind of claim + an isolated-vm
 * fresh-context call of the same tool in this process.
 *
 *   node --no-node-snapshot bench/library.ts
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ivm from 'isolated-vm';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { initWorkspace } from '../src/cli/workspace.ts';
import { loadConfig } from '../src/config/load.ts';
import { createRunner } from '../src/runtime/runner.ts';
import { createBrokerRuntime } from '../src/runtime/broker.ts';
import { NullAuditSink } from '../src/audit/audit.ts';
import { loadJwksFile } from '../src/claims/keys.ts';
import { formatRow, measure, type Figures } from './stats.ts';

const WIDE = { capacity: 1_000_000, refillPerSecond: 1_000_000 };
/** Governors opened wide but ON: the bench pays for their bookkeeping, it just never trips them. */
const GOVERNORS_FOR_BENCH = {
  rateLimits: { principal: WIDE, tool: WIDE, tenant: WIDE },
  spend: { budget: 100_000_000, windowSeconds: 3600 },
  loopGuard: { maxRepeats: 20, windowSeconds: 60 },
  concurrency: { maxConcurrent: 64, perTenantConcurrent: 64, maxQueuedPerTenant: 100_000 },
};

export interface BenchWorkspace {
  dir: string;
  configFile: string;
}

/** A fresh workspace with the example tools and governors opened wide (the bench measures the pipeline, not the brakes). */
export async function benchWorkspace(patch: Record<string, unknown> = {}): Promise<BenchWorkspace> {
  const dir = mkdtempSync(join(tmpdir(), 'toolcage-bench-'));
  await initWorkspace(dir, { force: true });
  const configFile = join(dir, 'toolcage.config.yaml');
  const raw = parseYaml(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  writeFileSync(configFile, stringifyYaml({ ...raw, governors: GOVERNORS_FOR_BENCH, ...patch }, { aliasDuplicateObjects: false }));
  return { dir, configFile };
}

export async function benchLibrary(opts: { n?: number; config?: Record<string, unknown>; label?: string } = {}): Promise<{ floor: Figures; library: Figures; libraryConcurrent: Figures }> {
  const n = opts.n ?? 3000;
  const ws = await benchWorkspace(opts.config);
  const loaded = loadConfig(ws.configFile);
  const runner = await createRunner(loaded, { backends: ['js'], audit: new NullAuditSink() });
  const { broker, close } = await createBrokerRuntime(loaded, { stores: runner.stores, registry: runner.registry });
  // A fresh claim and fresh arguments per call, as an agent would make them (the loop guard stays on).
  const argsOf = (i: number) => ({ text: `The model suggests actions; the system verifies and enforces them. (${i})` });
  const total = n * 2 + 200;
  const claims: string[] = [];
  for (let i = 0; i < total; i++) claims.push((await broker.issueClaim({ tool: 'text.word_count', args: argsOf(i), sub: 'bench', roles: ['admin'], tenant: 'bench' })).claim);
  const args = argsOf(0);

  // Floor: what any verifier + sandbox must do at least.
  const jwks = createLocalJWKSet(loadJwksFile(loaded.path('keys/broker.jwks.json')));
  const source = readFileSync(join(ws.dir, 'tool-manifests/text.word_count/word_count.js'), 'utf8');
  const isolate = new ivm.Isolate({ memoryLimit: 32 });
  const invoker = isolate.compileScriptSync('(async function invoke(ns, i) { return JSON.stringify(await ns.default(JSON.parse(i))); })');
  const compiled = isolate.compileModuleSync(source, { produceCachedData: true }) as ivm.Module & { cachedData?: ivm.ExternalCopy<ArrayBuffer> };
  const cachedData = compiled.cachedData;
  const input = JSON.stringify(args);
  const floorCall = async (i: number) => {
    await jwtVerify(claims[i % claims.length]!, jwks, { algorithms: ['EdDSA', 'ES256'], issuer: 'toolcage-broker', audience: 'toolcage-runner' });
    const context = isolate.createContextSync();
    const invoke = invoker.runSync(context, { reference: true }) as ivm.Reference;
    const mod = isolate.compileModuleSync(source, cachedData ? { cachedData } : {});
    mod.instantiateSync(context, () => {
      throw new Error('no imports');
    });
    await mod.evaluate({ timeout: 1000 });
    const ns = mod.namespace;
    const out = await invoke.apply(undefined, [ns.derefInto(), input], { result: { promise: true, copy: true }, timeout: 1000 });
    ns.release();
    invoke.release();
    mod.release();
    context.release();
    return out;
  };
  const floor = await measure('floor: jose verify + raw isolated-vm call', floorCall, { n, warmup: 100 });
  isolate.dispose();

  let next = 0;
  const libCall = async () => {
    const i = next++;
    return runner.executor.execute({ toolId: 'text.word_count', args: argsOf(i), claim: claims[i]!, requestId: `bench-${i}` });
  };
  const label = `library execute()${opts.label ? ` ${opts.label}` : ''}`;
  const library = await measure(label, libCall, { n, warmup: 100 });
  const libraryConcurrent = await measure(label, libCall, { n: Math.min(n, claims.length - next - 10), concurrency: 8, warmup: 0 });
  await close();
  await runner.close();
  return { floor, library, libraryConcurrent };
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  const r = await benchLibrary({ n: Number(process.env.N ?? 3000) });
  console.log(formatRow(r.floor));
  console.log(formatRow(r.library, r.floor));
  console.log(formatRow(r.libraryConcurrent));
}
