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
export async function measure(
  name: string,
  call: (i: number) => Promise<unknown>,
  opts: { n: number; concurrency?: number; warmup?: number },
): Promise<Figures> {
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
  return {
    name,
    p50: percentile(samples, 0.5),
    p99: percentile(samples, 0.99),
    callsPerSecond: (samples.length / total) * 1000,
    n: samples.length,
    concurrency,
  };
}

export function formatRow(f: Figures, base?: Figures, baseName = 'floor'): string {
  const ratio = base ? `  ${(f.p50 / base.p50).toFixed(2)}x p50 of ${baseName}` : '';
  return `${f.name.padEnd(48)} c=${String(f.concurrency).padStart(2)}  p50 ${f.p50.toFixed(3).padStart(8)} ms  p99 ${f.p99.toFixed(3).padStart(8)} ms  ${f.callsPerSecond.toFixed(0).padStart(6)} calls/s${ratio}`;
}

/**
 * Measures several one-at-a-time calls in rounds, one call of each per round,
 * so that every variant sees the same machine conditions (this VM's speed
 * drifts by tens of percent between minutes). calls/s = 1000 / mean latency.
 */
export async function measureInterleaved(
  calls: Record<string, (i: number) => Promise<unknown>>,
  opts: { n: number; warmup?: number },
): Promise<Record<string, Figures>> {
  const names = Object.keys(calls);
  for (let w = 0; w < (opts.warmup ?? 50); w++) for (const name of names) await calls[name]!(w);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < opts.n; i++) {
    for (const name of names) {
      const t = performance.now();
      await calls[name]!((opts.warmup ?? 50) + i);
      samples[name]!.push(performance.now() - t);
    }
  }
  const out: Record<string, Figures> = {};
  for (const name of names) {
    const s = samples[name]!.sort((a, b) => a - b);
    const mean = s.reduce((a, b) => a + b, 0) / s.length;
    out[name] = {
      name,
      p50: percentile(s, 0.5),
      p99: percentile(s, 0.99),
      callsPerSecond: 1000 / mean,
      n: s.length,
      concurrency: 1,
    };
  }
  return out;
}
