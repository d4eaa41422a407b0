/** Shared measurement helpers for `npm run bench`: latency percentiles and throughput. */
export interface Figures {
  name: string;
  p50: number;
  p99: number;
  callsPerSecond: number;
  n: number;
  concurrency: number;
}

export function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0;
}

/** Runs `call` n times with `concurrency` in flight after `warmup` calls; returns p50/p99 (ms) and calls/s. */
export async function measure(name: string, call: (i: number) => Promise<unknown>, opts: { n: number; concurrency?: number; warmup?: number }): Promise<Figures> {
  const concurrency = opts.concurrency ?? 1;
  let i = 0;
  for (let w = 0; w < (opts.warmup ?? 50); w++) await call(i++);
  const samples: number[] = [];
  let left = opts.n;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (left-- > 0) {
        const t = performance.now();
        await call(i++);
        samples.push(performance.now() - t);
      }
    }),
  );
  const total = performance.now() - start;
  samples.sort((a, b) => a - b);
  return { name, p50: percentile(samples, 0.5), p99: percentile(samples, 0.99), callsPerSecond: (samples.length / total) * 1000, n: samples.length, concurrency };
}

export function formatRow(f: Figures, floor?: Figures): string {
  const ratio = floor ? `  ${(f.p50 / floor.p50).toFixed(2)}x p50 of floor` : '';
  return `${f.name.padEnd(48)} c=${String(f.concurrency).padStart(2)}  p50 ${f.p50.toFixed(3).padStart(8)} ms  p99 ${f.p99.toFixed(3).padStart(8)} ms  ${f.callsPerSecond.toFixed(0).padStart(6)} calls/s${ratio}`;
}
