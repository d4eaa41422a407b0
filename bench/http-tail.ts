/**
 * Where a slow HTTP call at c=1 goes. The service runs in a child process;
 * this process calls it one call at a time over one keep-alive connection
 * (Node's HTTP client) and, per call, records:
 * - the client's µs timestamps (wall clock: `performance.timeOrigin + now()`);
 * - the service's phases: fastify hooks (onRequest, preHandler, onSend,
 *   onResponse) and the executor's stage durations (its observer hooks);
 * - garbage collections in both processes (PerformanceObserver 'gc');
 * - CPU time and run-queue wait of the service and of each JS worker, every
 *   thread summed, from /proc/<pid>/task/<tid>/schedstat, read before and
 *   after the call.
 * A call that took long with no extra CPU of ours waited for a core (the
 * machine's other work); one that took extra CPU in a process did work of
 * ours that the median call does not.
 *
 *   [N=3000] node --no-node-snapshot bench/http-tail.ts
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { NullAuditSink } from '../src/audit/audit.ts';
import { loadConfig } from '../src/config/load.ts';
import { createRunnerService } from '../src/runtime/runner-service.ts';
import type { Stage } from '../src/ports/observer.ts';
import { benchWorkspace, invoke, mintAll, type MintedCall } from './http-fixture.ts';

const SELF = fileURLToPath(import.meta.url);
const now = (): number => performance.timeOrigin + performance.now();

interface Gc {
  at: number;
  ms: number;
}
interface ServerCall {
  id: string;
  onRequest: number;
  preHandler?: number;
  onSend?: number;
  onResponse?: number;
  stages: Partial<Record<Stage, number>>;
}

function watchGc(into: Gc[]): void {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      into.push({ at: performance.timeOrigin + e.startTime, ms: e.duration });
  }).observe({ entryTypes: ['gc'] });
}

async function child(configFile: string, outFile: string): Promise<void> {
  const gcs: Gc[] = [];
  watchGc(gcs);
  const service = await createRunnerService(loadConfig(configFile), {
    backends: ['js'],
    audit: new NullAuditSink(),
    logger: pino({ level: 'warn' }),
  });
  const open = new Map<string, ServerCall>();
  const done: ServerCall[] = [];
  // The executor reports to the service's metrics observer: wrap it to see each stage.
  const observer = service.metrics.observer as { stage: (...a: unknown[]) => void };
  const stage = observer.stage;
  observer.stage = (name, toolId, ms, call) => {
    const c = open.get((call as { requestId?: string } | undefined)?.requestId ?? '');
    if (c) c.stages[name as Stage] = ms as number;
    stage(name, toolId, ms, call);
  };
  const app = service.app;
  app.addHook('onRequest', (req, _reply, next) => {
    open.set(req.id, { id: req.id, onRequest: now(), stages: {} });
    next();
  });
  app.addHook('preHandler', (req, _reply, next) => {
    const c = open.get(req.id);
    if (c) c.preHandler = now();
    next();
  });
  app.addHook('onSend', (req, _reply, payload, next) => {
    const c = open.get(req.id);
    if (c) c.onSend = now();
    next(null, payload);
  });
  app.addHook('onResponse', (req, _reply, next) => {
    const c = open.get(req.id);
    if (c) {
      c.onResponse = now();
      done.push(c);
      open.delete(req.id);
    }
    next();
  });
  const url = await service.listen({ host: '127.0.0.1', port: 0 });
  for (let i = 0; i < 200 && !(await service.runner.executor.readiness()).ready; i++)
    await new Promise((r) => setTimeout(r, 25));
  process.stdout.write(`LISTENING ${url}\n`);
  process.once('SIGTERM', () => {
    writeFileSync(outFile, JSON.stringify({ calls: done, gcs }));
    void service.shutdown(1000).then(() => process.exit(0));
  });
}

/** CPU and run-queue wait (ms) of each process, every thread summed. */
function schedstat(pids: number[]): { cpu: number[]; wait: number[] } {
  const cpu: number[] = [];
  const wait: number[] = [];
  for (const pid of pids) {
    let run = 0;
    let queued = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const [a, b] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ');
        run += Number(a);
        queued += Number(b);
      } catch {
        // the thread ended
      }
    }
    cpu.push(run / 1e6);
    wait.push(queued / 1e6);
  }
  return { cpu, wait };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? 0;

async function main(): Promise<void> {
  const n = Number(process.env.N ?? 3000);
  const { dir, configFile } = await benchWorkspace({
    prefix: 'toolcage-http-tail-',
    workers: 2,
    audit: false,
  });
  try {
    const claims = await mintAll(configFile, n + 50, 'tail');

    const outFile = join(dir, 'server.json');
    const server = spawn(
      process.execPath,
      ['--no-node-snapshot', SELF, '--child', configFile, outFile],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const url = await new Promise<string>((resolve, reject) => {
      server.once('exit', (code) => reject(new Error(`service exited ${code}`)));
      server.stdout!.on('data', (chunk: Buffer) => {
        const m = /LISTENING (\S+)/.exec(String(chunk));
        if (m) resolve(m[1]!);
      });
    });
    const clientGcs: Gc[] = [];
    watchGc(clientGcs);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const call = async (c: MintedCall, id: string): Promise<void> => {
      const status = await invoke(agent, url, c, { 'x-request-id': id });
      if (status !== 200) throw new Error(`HTTP ${status}`);
    };
    for (const [i, c] of claims.splice(0, 50).entries()) await call(c, `warm-up-${i}`);
    const workers = readFileSync(`/proc/${server.pid}/task/${server.pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    const pids = [server.pid!, ...workers];
    const rows: Array<{ id: string; start: number; end: number; cpu: number[]; wait: number[] }> =
      [];
    for (const [i, c] of claims.entries()) {
      const id = `tail-call-${String(i).padStart(6, '0')}`;
      const before = schedstat(pids);
      const start = now();
      await call(c, id);
      const end = now();
      const after = schedstat(pids);
      rows.push({
        id,
        start,
        end,
        cpu: after.cpu.map((v, j) => v - before.cpu[j]!),
        wait: after.wait.map((v, j) => v - before.wait[j]!),
      });
    }
    agent.destroy();
    await new Promise<void>((resolve) => {
      server.once('exit', () => resolve());
      server.kill('SIGTERM');
    });
    const { calls, gcs } = JSON.parse(readFileSync(outFile, 'utf8')) as {
      calls: ServerCall[];
      gcs: Gc[];
    };
    report(rows, new Map(calls.map((c) => [c.id, c])), gcs, clientGcs);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(
  rows: Array<{ id: string; start: number; end: number; cpu: number[]; wait: number[] }>,
  calls: Map<string, ServerCall>,
  serverGcs: Gc[],
  clientGcs: Gc[],
): void {
  const wall = rows.map((r) => r.end - r.start);
  const sorted = [...wall].sort((a, b) => a - b);
  const p = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  console.log(
    `${rows.length} calls at c=1: p50 ${p(0.5).toFixed(3)} ms, p90 ${p(0.9).toFixed(3)}, p99 ${p(0.99).toFixed(3)}, max ${p(1).toFixed(3)}`,
  );
  const phases = (r: (typeof rows)[number]): Record<string, number> | undefined => {
    const s = calls.get(r.id);
    if (!s?.preHandler || !s.onSend || !s.onResponse) return undefined;
    return {
      'client to onRequest': s.onRequest - r.start,
      'onRequest to handler': s.preHandler - s.onRequest,
      ...Object.fromEntries(Object.entries(s.stages).map(([k, v]) => [`stage ${k}`, v])),
      'handler to onSend': s.onSend - s.preHandler,
      'onSend to onResponse': s.onResponse - s.onSend,
      'onResponse to client': r.end - s.onResponse,
    };
  };
  const slow = rows.filter((_, i) => wall[i]! >= p(0.99));
  const all = rows.map(phases).filter((x) => x !== undefined);
  const top = slow.map(phases).filter((x) => x !== undefined);
  console.log('\nmedian ms              all calls   slowest 1 %');
  for (const k of Object.keys(all[0] ?? {}))
    console.log(
      `${k.padEnd(24)} ${median(all.map((x) => x[k] ?? 0))
        .toFixed(3)
        .padStart(8)} ${median(top.map((x) => x[k] ?? 0))
        .toFixed(3)
        .padStart(12)}`,
    );
  const names = ['service', ...rows[0]!.cpu.slice(1).map((_, j) => `worker ${j + 1}`)];
  const medCpu = names.map((_, j) => median(rows.map((r) => r.cpu[j]!)));
  console.log(
    '\nCPU per call, median ms: ' + names.map((n, j) => `${n} ${medCpu[j]!.toFixed(3)}`).join(', '),
  );
  const extra = (r: (typeof rows)[number], j: number) => r.cpu[j]! - medCpu[j]!;
  for (const [j, n] of names.entries()) {
    const hot = rows.filter((r) => extra(r, j) > 2);
    console.log(`calls with > 2 ms more CPU than the median in the ${n}: ${hot.length}`);
  }
  const waited = slow.filter((r) => Math.max(...r.wait) > 2).length;
  const overlaps = (gcs: Gc[], r: (typeof rows)[number]) =>
    gcs.some((g) => g.at < r.end && g.at + g.ms > r.start);
  console.log(
    `slowest 1 % (${slow.length} calls): ${waited} waited > 2 ms for a core in some process; ` +
      `${slow.filter((r) => names.some((_, j) => extra(r, j) > 2)).length} took > 2 ms extra CPU in some process; ` +
      `${slow.filter((r) => overlaps(serverGcs, r)).length} overlap a service GC, ${slow.filter((r) => overlaps(clientGcs, r)).length} a client GC`,
  );
  console.log(
    `GCs: service ${serverGcs.length} (${serverGcs.reduce((a, g) => a + g.ms, 0).toFixed(1)} ms), client ${clientGcs.length}`,
  );
}

if (process.argv[1] === SELF) {
  const i = process.argv.indexOf('--child');
  if (i > 0) await child(process.argv[i + 1]!, process.argv[i + 2]!);
  else await main();
}
