/**
 * The isolated-vm backend against its floor: a raw, in-process isolated-vm
 * call of the same tool (warm isolate, fresh context, cached code, same
 * prelude shape), then the backend's latency (one call at a time) and
 * throughput (both workers busy).
 *
 *   node --no-node-snapshot bench/isolated-vm-floor.ts
 */
import ivm from 'isolated-vm';
import { createIsolatedVmBackend } from '../src/sandbox/isolated-vm/index.ts';

const SOURCE = `export default function run(input) { return { words: input.text.split(/\\s+/).filter(Boolean).length }; }`;
const INPUT = { text: 'the quick brown fox jumps over the lazy dog' };
const N = Number(process.env.N ?? 3000);

function summary(name: string, samples: number[], totalMs: number): void {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): string =>
    (sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0).toFixed(3);
  console.log(
    `${name.padEnd(34)} p50 ${at(0.5)} ms  p99 ${at(0.99)} ms  ${((samples.length / totalMs) * 1000).toFixed(0)} calls/s`,
  );
}

async function measure(
  name: string,
  call: () => Promise<unknown> | unknown,
  n = N,
): Promise<number[]> {
  for (let i = 0; i < 200; i++) await call();
  const samples: number[] = [];
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await call();
    samples.push(performance.now() - t);
  }
  summary(name, samples, performance.now() - start);
  return samples;
}

// Floor: raw isolated-vm in this process.
const isolate = new ivm.Isolate({ memoryLimit: 32 });
const prelude = isolate.compileScriptSync(
  `(async function invoke(ns, i, c) { return JSON.stringify(await ns.default(JSON.parse(i), JSON.parse(c))); })`,
);
const first = isolate.compileModuleSync(SOURCE, { produceCachedData: true });
const cachedData = (first as ivm.Module & { cachedData?: ivm.ExternalCopy<ArrayBuffer> })
  .cachedData;
const inputJson = JSON.stringify(INPUT);
async function rawCall(): Promise<unknown> {
  const context = isolate.createContextSync();
  const invoke = prelude.runSync(context, { reference: true }) as ivm.Reference;
  const module = isolate.compileModuleSync(SOURCE, cachedData ? { cachedData } : {});
  module.instantiateSync(context, () => {
    throw new Error('no imports');
  });
  await module.evaluate({ timeout: 1000 });
  const ns = module.namespace;
  const out = await invoke.apply(undefined, [ns.derefInto(), inputJson, '{}'], {
    result: { promise: true, copy: true },
    timeout: 1000,
  });
  ns.release();
  invoke.release();
  module.release();
  context.release();
  return out;
}
const floor = await measure('raw isolated-vm (fresh context)', rawCall);

const backend = createIsolatedVmBackend({ workers: 2 });
while (!(await backend.health()).usable) await new Promise((r) => setTimeout(r, 20));
const tool = {
  id: 'bench.word_count',
  version: '1.0.0',
  runtime: 'js' as const,
  source: SOURCE,
  sourceHash: 'bench',
  limits: { timeoutMs: 1000, memoryMb: 32, maxOutputBytes: 65536 },
};
let seq = 0;
const call = async (): Promise<void> => {
  const result = await backend.run({ invocationId: `b${seq++}`, tool, input: INPUT });
  if (!result.ok) throw new Error(`bench call failed: ${result.code} ${result.message}`);
};
const lib = await measure('backend, one call at a time', call);

for (const concurrency of [2, 4, 8]) {
  const samples: number[] = [];
  const start = performance.now();
  let left = N * 2;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (left-- > 0) {
        const t = performance.now();
        await call();
        samples.push(performance.now() - t);
      }
    }),
  );
  summary(`backend, ${concurrency} in flight`, samples, performance.now() - start);
}
const p50 = (s: number[]): number => [...s].sort((a, b) => a - b)[s.length >> 1] ?? 0;
console.log(`backend p50 / raw p50 = ${(p50(lib) / p50(floor)).toFixed(2)}x`);
await backend.dispose();
isolate.dispose();
