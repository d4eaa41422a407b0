/**
 * Where a back-to-back Docker call's time goes, per engine phase.
 *
 *   1. The engine's lifecycle phases (create, attach, start, the tool's run
 *      to its exit, remove), one container at a time and then k at once
 *      (k = 1, 2, 4, 8): the engine's parallel ceiling on this machine.
 *   2. The backend, calls back to back at c=1: per call, its answer, when
 *      the tool's stdout ended and when the engine reported the exit (both
 *      from the input's write; a call answered on the gate's trailer comes
 *      before either), and how many containers were ready / being made /
 *      being removed when it came.
 *
 *   node bench/docker-phases.ts          (N=30 calls, K=1,2,4,8, MAX_STARTING=8)
 */
import { fileURLToPath } from 'node:url';
import type { Duplex } from 'node:stream';
import { dockerodeApi, type DockerApi } from '../src/sandbox/docker/api.ts';
import { containerSpec } from '../src/sandbox/docker/container-spec.ts';
import { buildImage, createDockerBackend } from '../src/sandbox/docker/index.ts';
import { Demuxer } from '../src/sandbox/docker/demux.ts';
import { COMMAND, INPUT, LIMITS, sha256Tool } from './docker.ts';

type Op = 'create' | 'attach' | 'start' | 'wait' | 'inspect' | 'remove';

/** A DockerApi that counts the engine requests in flight and times each one. */
function timedApi(api: DockerApi): {
  api: DockerApi;
  inFlight: Record<Op, number>;
  times: Record<Op, number[]>;
  ended: Map<string, number>;
  waited: Map<string, number>;
  written: Map<string, number>;
} {
  const ended = new Map<string, number>();
  const waited = new Map<string, number>();
  const written = new Map<string, number>();
  const ops: Op[] = ['create', 'attach', 'start', 'wait', 'inspect', 'remove'];
  const inFlight = Object.fromEntries(ops.map((o) => [o, 0])) as Record<Op, number>;
  const times = Object.fromEntries(ops.map((o) => [o, [] as number[]])) as Record<Op, number[]>;
  const timed =
    <A extends unknown[], R>(op: Op, fn: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      inFlight[op]++;
      const t = performance.now();
      try {
        return await fn(...a);
      } finally {
        inFlight[op]--;
        times[op].push(performance.now() - t);
      }
    };
  return {
    inFlight,
    times,
    ended,
    waited,
    written,
    api: {
      ...api,
      createContainer: timed('create', api.createContainer.bind(api)),
      attach: timed('attach', async (id: string) => {
        const stream = await api.attach(id);
        stream.once('end', () => ended.set(id, performance.now()));
        const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
        stream.write = ((chunk: unknown, ...rest: unknown[]) => {
          if (!written.has(id)) written.set(id, performance.now());
          return write(chunk, ...rest);
        }) as typeof stream.write;
        return stream;
      }),
      start: timed('start', api.start.bind(api)),
      wait: timed('wait', async (id: string) => {
        const r = await api.wait(id);
        waited.set(id, performance.now());
        return r;
      }),
      inspectContainer: timed('inspect', api.inspectContainer.bind(api)),
      remove: timed('remove', api.remove.bind(api)),
    },
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.floor(s.length / 2)] ?? NaN);
};

/** One raw lifecycle, phase by phase (ms). */
async function lifecycle(
  api: DockerApi,
  imageId: string,
): Promise<Record<'create' | 'attach' | 'start' | 'run' | 'remove', number>> {
  const spec = containerSpec({
    imageId,
    command: COMMAND,
    limits: LIMITS,
    labels: { 'toolcage.bench': 'true' },
    env: [],
    tmpfsMb: 16,
    shmMb: 1,
    nofile: 64,
  });
  let t = performance.now();
  const lap = (): number => {
    const now = performance.now();
    const d = now - t;
    t = now;
    return d;
  };
  const id = await api.createContainer(spec);
  const create = lap();
  let stream: Duplex | undefined;
  try {
    stream = await api.attach(id);
    const attach = lap();
    const demux = new Demuxer(stream, {
      maxStdoutBytes: 256,
      maxStderrBytes: 8192,
      onStdoutOverflow: () => undefined,
    });
    const ended = new Promise((r) => stream!.once('end', r));
    await api.start(id);
    const start = lap();
    stream.end(`${JSON.stringify(INPUT)}\n`);
    await api.wait(id);
    await ended;
    demux.collect();
    const run = lap();
    await api.remove(id);
    return { create, attach, start, run, remove: lap() };
  } catch (err) {
    await api.remove(id).catch(() => undefined);
    throw err;
  }
}

export async function benchDockerPhases(
  options: { calls?: number; ks?: number[]; maxStarting?: number; log?: (l: string) => void } = {},
): Promise<void> {
  const log = options.log ?? ((l: string) => console.log(l));
  const built = await buildImage('text-tools');
  const raw = dockerodeApi('/var/run/docker.sock');

  log('engine lifecycle, k at once: median ms per phase, and lifecycles/s');
  for (const k of options.ks ?? [1, 2, 4, 8]) {
    const rounds = Math.max(2, Math.ceil(16 / k));
    const phases: Record<string, number[]> = {};
    const t0 = performance.now();
    for (let r = 0; r < rounds; r++) {
      const got = await Promise.all(Array.from({ length: k }, () => lifecycle(raw, built.imageId)));
      for (const g of got) for (const [p, ms] of Object.entries(g)) (phases[p] ??= []).push(ms);
    }
    const rate = (rounds * k * 1000) / (performance.now() - t0);
    log(
      `  k=${k}: ${Object.entries(phases)
        .map(([p, xs]) => `${p} ${median(xs)}`)
        .join('  ')}  -> ${rate.toFixed(2)} lifecycles/s`,
    );
  }

  const timed = timedApi(raw);
  const tool = sha256Tool(built.identity);
  const backend = createDockerBackend({
    runnerId: `bench-phases-${process.pid}`,
    api: timed.api,
    pool: { size: 8, ...(options.maxStarting ? { maxStarting: options.maxStarting } : {}) },
    runtime: 'runc',
  });
  try {
    await backend.prewarm(tool);
    for (const op of Object.keys(timed.times) as Op[]) timed.times[op].length = 0;
    const calls = options.calls ?? 30;
    const rows: Array<{ t: number; ms: number; state: string }> = [];
    const totals: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) {
      const s = backend.poolState();
      const ready = s.tools[0]?.ready ?? 0;
      const filling = s.tools[0]?.filling ?? 0;
      const removing = timed.inFlight.remove;
      const t = performance.now();
      const r = await backend.run({ invocationId: `phases-${i}`, tool, input: INPUT });
      const ms = performance.now() - t;
      totals.push(ms);
      rows.push({
        t,
        ms,
        state: `ready ${ready} making ${filling} removing ${removing}${r.ok ? '' : ` FAILED ${r.code}`}`,
      });
    }
    const rate = (calls * 1000) / (performance.now() - t0);
    // The engine reports a gate-answered call's exit after the answer: wait for every report.
    await backend.whenIdle();
    log(`backend back to back, c=1, pool 8 (state when each call came):`);
    const seen = new Set<string>();
    for (const [i, row] of rows.entries()) {
      const id = [...timed.written]
        .filter(([k, at]) => !seen.has(k) && at >= row.t)
        .sort((a, b) => a[1] - b[1])[0]?.[0];
      if (id) seen.add(id);
      const from = id ? (timed.written.get(id) ?? NaN) : NaN;
      const end = id ? (timed.ended.get(id) ?? NaN) - from : NaN;
      const wait = id ? (timed.waited.get(id) ?? NaN) - from : NaN;
      log(
        `  #${String(i).padStart(2)} ${String(Math.round(row.ms)).padStart(5)} ms  (input +${Math.round(from - row.t)}, answer +${Math.round(row.t + row.ms - from)}, stdout end +${Math.round(end)}, exit seen +${Math.round(wait)})  ${row.state}`,
      );
    }
    log(
      `  p50 ${median(totals)} ms, ${rate.toFixed(2)} calls/s; engine requests median ms: ${(
        Object.entries(timed.times) as Array<[Op, number[]]>
      )
        .map(([op, xs]) => `${op} ${median(xs)} (${xs.length})`)
        .join(', ')}`,
    );
  } finally {
    await backend.dispose();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await benchDockerPhases({
    calls: Number(process.env.N ?? 30),
    ks: (process.env.K ?? '1,2,4,8')
      .split(',')
      .map(Number)
      .filter((k) => k > 0),
    ...(process.env.MAX_STARTING ? { maxStarting: Number(process.env.MAX_STARTING) } : {}),
  });
}
