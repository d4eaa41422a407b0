/**
 * The library bench's floor: jose verify of a claim + a raw isolated-vm
 * fresh-context call of the same tool, in one process; and the same floor on
 * every core at once (one process per core, started together), which is what
 * a runner with a worker per core can at best reach.
 *
 *   (internal) node --no-node-snapshot bench/floor.ts --child <dir> <claims.json> <n>
 */
import { fork } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ivm from 'isolated-vm';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { loadJwksFile } from '../src/claims/keys.ts';
import type { Figures } from './stats.ts';

const SELF = fileURLToPath(import.meta.url);

export const argsOf = (i: number) => ({
  text: `The model suggests actions; the system verifies and enforces them. (${i})`,
});

export interface FloorCaller {
  call(i: number): Promise<unknown>;
  dispose(): void;
}

/** The floor: jose verify of a claim + a raw isolated-vm fresh-context call of the same tool, in this process. */
export function floorCaller(dir: string, claims: string[]): FloorCaller {
  const jwks = createLocalJWKSet(loadJwksFile(join(dir, 'keys/broker.jwks.json')));
  const source = readFileSync(join(dir, 'tool-manifests/text.word_count/word_count.js'), 'utf8');
  const isolate = new ivm.Isolate({ memoryLimit: 32 });
  const invoker = isolate.compileScriptSync(
    '(async function invoke(ns, i) { return JSON.stringify(await ns.default(JSON.parse(i))); })',
  );
  const compiled = isolate.compileModuleSync(source, { produceCachedData: true }) as ivm.Module & {
    cachedData?: ivm.ExternalCopy<ArrayBuffer>;
  };
  const cachedData = compiled.cachedData;
  return {
    async call(i) {
      await jwtVerify(claims[i % claims.length]!, jwks, {
        algorithms: ['EdDSA', 'ES256'],
        issuer: 'toolcage-broker',
        audience: 'toolcage-runner',
      });
      const context = isolate.createContextSync();
      const invoke = invoker.runSync(context, { reference: true }) as ivm.Reference;
      const mod = isolate.compileModuleSync(source, cachedData ? { cachedData } : {});
      mod.instantiateSync(context, () => {
        throw new Error('no imports');
      });
      await mod.evaluate({ timeout: 1000 });
      const ns = mod.namespace;
      const out = await invoke.apply(undefined, [ns.derefInto(), JSON.stringify(argsOf(i))], {
        result: { promise: true, copy: true },
        timeout: 1000,
      });
      ns.release();
      invoke.release();
      mod.release();
      context.release();
      return out;
    },
    dispose: () => isolate.dispose(),
  };
}

/**
 * The floor on `processes` cores at once: each process warms up, then all
 * start on one signal and make `n` calls back to back; calls/s is the sum of
 * the calls over the slowest process's time (p50/p99 over all calls).
 */
export async function floorOnCores(opts: {
  dir: string;
  claims: string[];
  processes: number;
  n: number;
}): Promise<Figures> {
  const claimsFile = join(opts.dir, 'bench-floor-claims.json');
  writeFileSync(claimsFile, JSON.stringify(opts.claims));
  const children = Array.from({ length: opts.processes }, () =>
    fork(SELF, ['--child', opts.dir, claimsFile, String(opts.n)], {
      execArgv: ['--no-node-snapshot'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  const next = (c: (typeof children)[number]) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      c.once('message', (m) => resolve(m as Record<string, unknown>));
      c.once('exit', (code) => reject(new Error(`floor process exited ${code}`)));
    });
  try {
    await Promise.all(children.map(next)); // warmed up
    const done = children.map(next);
    for (const c of children) c.send('go');
    const results = (await Promise.all(done)) as Array<{ samples: number[]; ms: number }>;
    const samples = results.flatMap((r) => r.samples).sort((a, b) => a - b);
    const at = (q: number) =>
      samples[Math.min(samples.length - 1, Math.floor(samples.length * q))]!;
    return {
      name: `floor on ${opts.processes} cores (${opts.processes} processes)`,
      p50: at(0.5),
      p99: at(0.99),
      callsPerSecond: (samples.length / Math.max(...results.map((r) => r.ms))) * 1000,
      n: samples.length,
      concurrency: opts.processes,
    };
  } finally {
    for (const c of children) c.kill();
  }
}

async function child(dir: string, claimsFile: string, n: number): Promise<void> {
  const claims = JSON.parse(readFileSync(claimsFile, 'utf8')) as string[];
  const floor = floorCaller(dir, claims);
  for (let i = 0; i < 100; i++) await floor.call(i);
  process.send!('ready');
  await new Promise((resolve) => process.once('message', resolve));
  const samples: number[] = [];
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await floor.call(100 + i);
    samples.push(performance.now() - t);
  }
  const ms = performance.now() - start;
  process.send!({ samples, ms }, () => {
    floor.dispose();
    process.disconnect();
  });
}

if (process.argv[1] === SELF && process.argv[2] === '--child') {
  await child(process.argv[3]!, process.argv[4]!, Number(process.argv[5]));
}
