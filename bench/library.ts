/**
 * A JS tool call through the library API (claim verify + replay + governors
 * + input/output validation + sandbox run) against the raw floor measured in
 * the same run: jose verify of the same kind of claim + an isolated-vm
 * fresh-context call of the same tool in this process.
 *
 *   node --no-node-snapshot bench/library.ts
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { initWorkspace } from '../src/cli/workspace.ts';
import { loadConfig } from '../src/config/load.ts';
import { createRunner } from '../src/runtime/runner.ts';
import { createBrokerRuntime } from '../src/runtime/broker.ts';
import { NullAuditSink, type AuditSink } from '../src/audit/audit.ts';
import type { LoadedConfig } from '../src/config/load.ts';
import { formatRow, measure, measureInterleaved, type Figures } from './stats.ts';
import { argsOf, floorCaller, floorOnCores } from './floor.ts';

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
  writeFileSync(
    configFile,
    stringifyYaml(
      { ...raw, governors: GOVERNORS_FOR_BENCH, ...patch },
      { aliasDuplicateObjects: false },
    ),
  );
  return { dir, configFile };
}

export interface BenchRunner {
  /** One call with fresh arguments and a fresh claim (claims are minted ahead; minting is not measured). */
  call(i: number): Promise<unknown>;
  claims: string[];
  dir: string;
  close(): Promise<void>;
}

export async function benchRunner(
  total: number,
  config?: Record<string, unknown>,
  audit: (loaded: LoadedConfig) => Promise<AuditSink> = async () => new NullAuditSink(),
): Promise<BenchRunner> {
  const ws = await benchWorkspace(config);
  const loaded = loadConfig(ws.configFile);
  const sink = await audit(loaded);
  const runner = await createRunner(loaded, { backends: ['js'], audit: sink });
  const { broker, close } = await createBrokerRuntime(loaded, {
    stores: runner.stores,
    registry: runner.registry,
    // Minting happens before the measured calls: keep it off the trail being measured.
    audit: new NullAuditSink(),
  });
  // A fresh claim and fresh arguments per call, as an agent would make them (the loop guard stays on).
  const claims: string[] = [];
  for (let i = 0; i < total; i++)
    claims.push(
      (
        await broker.issueClaim({
          tool: 'text.word_count',
          args: argsOf(i),
          sub: 'bench',
          roles: ['admin'],
          tenant: 'bench',
        })
      ).claim,
    );
  return {
    claims,
    dir: ws.dir,
    call: (i) =>
      runner.executor.execute({
        toolId: 'text.word_count',
        args: argsOf(i),
        claim: claims[i]!,
        requestId: `bench-${i}`,
      }),
    async close() {
      await close();
      await runner.close();
      await sink.close?.();
      await sink.flush();
    },
  };
}

export interface LibraryFigures {
  floor: Figures;
  /** The floor on every core at once: what 8 calls in flight can at best reach. */
  floorAllCores: Figures;
  library: Figures;
  libraryConcurrent: Figures;
  redis?: Figures;
  redisConcurrent?: Figures;
}

/**
 * The floor, the library on the embedded stores and (with `redisUrl`) on
 * Redis stores, measured one call at a time in interleaved rounds, then each
 * runner with 8 calls in flight.
 */
export async function benchLibrary(
  opts: { n?: number; redisUrl?: string } = {},
): Promise<LibraryFigures> {
  const n = opts.n ?? 3000;
  const total = n * 2 + 200;
  const memory = await benchRunner(total);
  const redis = opts.redisUrl
    ? await benchRunner(total, {
        state: {
          stores: 'redis',
          redis: { url: opts.redisUrl, keyPrefix: `toolcage-bench-${process.pid}` },
        },
      })
    : undefined;
  const floor = floorCaller(memory.dir, memory.claims);
  try {
    const calls: Record<string, (i: number) => Promise<unknown>> = {
      'floor: jose verify + raw isolated-vm call': floor.call,
      'library execute() (embedded stores)': memory.call,
      ...(redis ? { 'library execute() (redis stores)': redis.call } : {}),
    };
    const r = await measureInterleaved(calls, { n, warmup: 100 });
    let next = n + 100;
    const concurrent = async (runner: BenchRunner, label: string) => {
      let i = next;
      return measure(label, () => runner.call(i++), {
        n: Math.min(n, total - next - 10),
        concurrency: 8,
        warmup: 0,
      });
    };
    const libraryConcurrent = await concurrent(memory, 'library execute() (embedded stores)');
    // Right after the library's own run, so that both see the same machine conditions.
    const floorAllCores = await floorOnCores({
      dir: memory.dir,
      claims: memory.claims,
      processes: cpus().length,
      n: Math.ceil(libraryConcurrent.n / cpus().length),
    });
    const redisConcurrent = redis
      ? await concurrent(redis, 'library execute() (redis stores)')
      : undefined;
    next += n;
    return {
      floor: r['floor: jose verify + raw isolated-vm call']!,
      floorAllCores,
      library: r['library execute() (embedded stores)']!,
      libraryConcurrent,
      ...(redis
        ? { redis: r['library execute() (redis stores)']!, redisConcurrent: redisConcurrent! }
        : {}),
    };
  } finally {
    floor.dispose();
    await memory.close();
    await redis?.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  const r = await benchLibrary({
    n: Number(process.env.N ?? 3000),
    ...(process.env.REDIS_URL ? { redisUrl: process.env.REDIS_URL } : {}),
  });
  console.log(formatRow(r.floor));
  console.log(formatRow(r.library, r.floor));
  console.log(formatRow(r.libraryConcurrent));
  if (r.redis) console.log(formatRow(r.redis, r.library));
}
