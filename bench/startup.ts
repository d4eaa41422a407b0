/**
 * `toolcage serve` start-up and idle memory (issue 17, item 2): the time from
 * spawning the CLI to the first `200` on `/healthz` (listening) and on
 * `/readyz` (every sandbox usable: `serve` makes its Docker backend after it
 * listens, so the two differ), then the idle resident
 * set (VmRSS in `/proc/<pid>/status`) of the main process and of each JS
 * worker process it forked, after the service has settled.
 *
 * The CLI is run as a user runs it: `dist/cli/main.js` when built (the
 * package's `bin`), else `src/cli/main.ts` through type stripping (slower to
 * start; the row says which). The workspace is `toolcage init`'s, so the
 * Docker backend is configured as shipped (enabled, pool of warm containers).
 *
 *   node --no-node-snapshot bench/startup.ts           (ROUNDS=5)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initWorkspace } from '../src/cli/workspace.ts';
import { percentile } from './stats.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BUILT = join(ROOT, 'dist/cli/main.js');
const SOURCE = join(ROOT, 'src/cli/main.ts');

/** Targets of issue 17. */
export const STARTUP_TARGETS = { readyMs: 500, mainRssMb: 100, workerRssMb: 40 } as const;

export interface StartupFigures {
  entry: 'dist' | 'src';
  rounds: number;
  /** Spawn to first 200 on /healthz (liveness: listening, registry verified, stores open), ms. */
  readyP50Ms: number;
  /**
   * Spawn to first 200 on /readyz, ms: every configured sandbox usable (the JS
   * workers up, the Docker backend made and the registry verified again with
   * image identities), which `serve` now finishes after it listens.
   */
  readyzP50Ms: number;
  readyzMaxMs: number;
  /**
   * CPU time (user + system) the main process had used when /healthz first
   * answered 200, ms (median): what start-up costs, whatever else the shared
   * machine is running (wall time stretches with the load, CPU time barely).
   */
  readyCpuP50Ms: number;
  /** The floor: spawn of a bare `node:http` server to its first 200, ms (median). */
  bareReadyMs: number;
  readyMaxMs: number;
  /** Idle RSS of the main process (MB), median over rounds. */
  main: Rss;
  /** Idle RSS of the largest JS worker (MB), median over rounds; how many workers. */
  worker: Rss;
  workers: number;
  /** A bare Node process, idle: the part of every figure above that no code of ours can remove. */
  bare: Rss;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface Rss {
  /** VmRSS: resident pages, the node binary's shared file pages included. */
  rss: number;
  /** RssAnon: this process's own (private, anonymous) resident memory. */
  anon: number;
}

/** VmRSS and RssAnon of a process in MB, from /proc (NaN once it has gone). */
export function rssOf(pid: number): Rss {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
    return { rss: kb('VmRSS') / 1024, anon: kb('RssAnon') / 1024 };
  } catch {
    return { rss: NaN, anon: NaN };
  }
}

/** Spawn of a bare Node HTTP server to its first 200: the start-up floor on this machine now. */
async function bareServerReady(): Promise<number> {
  const port = await freePort();
  const start = performance.now();
  const child = spawn(
    process.execPath,
    ['-e', `require('node:http').createServer((q, r) => r.end('ok')).listen(${port}, '127.0.0.1')`],
    { stdio: 'ignore' },
  );
  try {
    while (!(await healthz(port))) await new Promise((r) => setTimeout(r, 5));
    return performance.now() - start;
  } finally {
    await stop(child);
  }
}

/** The floor of any Node process here: a bare `node --no-node-snapshot` (as workers run), idle. */
async function bareNode(settleMs: number): Promise<Rss> {
  const child = spawn(
    process.execPath,
    ['--no-node-snapshot', '-e', 'setInterval(() => {}, 1000)'],
    {
      stdio: 'ignore',
    },
  );
  try {
    await new Promise((r) => setTimeout(r, settleMs));
    return rssOf(child.pid!);
  } finally {
    await stop(child);
  }
}

/** CPU time (user + system) a process has used so far, ms, from /proc/<pid>/stat (NaN once it has gone). */
function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime (fields 14 and 15 of stat), in clock ticks: 100 per second on Linux.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}

/** Direct children of `pid`, from every process's parent in /proc/<pid>/stat. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name, which may itself hold spaces and parentheses.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // the process ended while being listed
    }
  }
  return out;
}

/** The JS sandbox workers among a process's children (forked Node processes running worker.ts/js). */
function jsWorkers(pid: number): number[] {
  return childrenOf(pid).filter((c) => {
    try {
      return /isolated-vm\/worker\.(ts|js)/.test(readFileSync(`/proc/${c}/cmdline`, 'utf8'));
    } catch {
      return false;
    }
  });
}

async function healthz(port: number, path = '/healthz'): Promise<boolean> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}${path}`);
    await r.arrayBuffer();
    return r.status === 200;
  } catch {
    return false;
  }
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function oneRound(
  dir: string,
  entry: string,
  settleMs: number,
): Promise<{ readyMs: number; readyCpuMs: number; readyzMs: number; main: Rss; workers: Rss[] }> {
  const port = await freePort();
  const start = performance.now();
  const child = spawn(
    process.execPath,
    [entry, 'serve', '--config', join(dir, 'toolcage.config.yaml'), '--port', String(port)],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4096)));
  try {
    let readyMs = -1;
    let readyCpuMs = NaN;
    while (readyMs < 0) {
      if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}: ${stderr}`);
      if (await healthz(port)) {
        readyMs = performance.now() - start;
        readyCpuMs = cpuMsOf(child.pid!);
      } else await new Promise((r) => setTimeout(r, 5));
      if (performance.now() - start > 30_000) throw new Error(`serve not ready in 30 s: ${stderr}`);
    }
    let readyzMs = -1;
    while (readyzMs < 0) {
      if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}: ${stderr}`);
      if (await healthz(port, '/readyz')) readyzMs = performance.now() - start;
      else await new Promise((r) => setTimeout(r, 5));
      if (performance.now() - start > 30_000) throw new Error(`/readyz not 200 in 30 s: ${stderr}`);
    }
    // Idle: the workers have started, the warm pool has filled, the start-up garbage is collectable.
    await new Promise((r) => setTimeout(r, settleMs));
    return {
      readyMs,
      readyCpuMs,
      readyzMs,
      main: rssOf(child.pid!),
      workers: jsWorkers(child.pid!).map(rssOf),
    };
  } finally {
    await stop(child);
  }
}

/** Spawns `toolcage serve` `rounds` times in one workspace; median ready time and idle RSS. */
export async function benchStartup(
  opts: { rounds?: number; settleMs?: number } = {},
): Promise<StartupFigures> {
  const rounds = opts.rounds ?? 5;
  const entry = existsSync(BUILT) ? BUILT : SOURCE;
  const dir = mkdtempSync(join(tmpdir(), 'toolcage-bench-startup-'));
  try {
    await initWorkspace(dir, { force: true });
    // One unmeasured start: the disk is warm and the SQLite file exists, as on any later start.
    await oneRound(dir, entry, 0);
    const settleMs = opts.settleMs ?? 2000;
    const ready: number[] = [];
    const readyz: number[] = [];
    const readyCpu: number[] = [];
    const bareReady: number[] = [];
    const main: Rss[] = [];
    const worker: Rss[] = [];
    let workers = 0;
    for (let i = 0; i < rounds; i++) {
      bareReady.push(await bareServerReady());
      const r = await oneRound(dir, entry, settleMs);
      ready.push(r.readyMs);
      readyz.push(r.readyzMs);
      readyCpu.push(r.readyCpuMs);
      main.push(r.main);
      worker.push(
        r.workers.reduce<Rss>((a, b) => (Number.isNaN(a.rss) || b.rss > a.rss ? b : a), {
          rss: NaN,
          anon: NaN,
        }),
      );
      workers = r.workers.length;
    }
    const med = (xs: number[]) =>
      percentile(
        [...xs].sort((a, b) => a - b),
        0.5,
      );
    const medRss = (xs: Rss[]): Rss => ({
      rss: med(xs.map((x) => x.rss)),
      anon: med(xs.map((x) => x.anon)),
    });
    return {
      entry: entry === BUILT ? 'dist' : 'src',
      rounds,
      readyP50Ms: med(ready),
      readyMaxMs: Math.max(...ready),
      readyzP50Ms: med(readyz),
      readyzMaxMs: Math.max(...readyz),
      readyCpuP50Ms: med(readyCpu),
      bareReadyMs: med(bareReady),
      main: medRss(main),
      worker: medRss(worker),
      workers,
      bare: await bareNode(settleMs),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The rows `npm run bench` prints, each with its target and verdict. */
export function reportStartup(f: StartupFigures, out: (line: string) => void): void {
  const v = (ok: boolean) => (ok ? 'target met' : 'target MISSED');
  const t = STARTUP_TARGETS;
  out(`floor: bare node:http server, spawn to 200   p50 ${f.bareReadyMs.toFixed(0)} ms`);
  out(
    `serve start to /healthz 200 (${f.entry}, ${f.rounds} rounds)   p50 ${f.readyP50Ms.toFixed(0)} ms  max ${f.readyMaxMs.toFixed(0)} ms = ${(f.readyP50Ms / f.bareReadyMs).toFixed(1)}x the floor (target ≤ ${t.readyMs} ms: ${v(f.readyP50Ms <= t.readyMs)})`,
  );
  out(
    `serve main process CPU (user+sys) at /healthz 200   p50 ${f.readyCpuP50Ms.toFixed(0)} ms (load-independent: what the start costs; wall time above stretches with the machine's load)`,
  );
  out(
    `serve start to /readyz 200 (every sandbox usable)   p50 ${f.readyzP50Ms.toFixed(0)} ms  max ${f.readyzMaxMs.toFixed(0)} ms = ${(f.readyzP50Ms / f.bareReadyMs).toFixed(1)}x the floor (target ≤ ${t.readyMs} ms: ${v(f.readyzP50Ms <= t.readyMs)})`,
  );
  const mb = (r: Rss) => `RSS ${r.rss.toFixed(1)} MB (private ${r.anon.toFixed(1)} MB)`;
  out(`floor: bare node process, idle                ${mb(f.bare)}`);
  out(
    `serve main process, idle                      ${mb(f.main)}  (target ≤ ${t.mainRssMb} MB: ${v(f.main.rss <= t.mainRssMb)})`,
  );
  out(
    `serve JS worker, idle (largest of ${f.workers})           ${mb(f.worker)}  (target ≤ ${t.workerRssMb} MB: ${v(f.worker.rss <= t.workerRssMb)}; ${(f.worker.rss - f.bare.rss).toFixed(1)} MB above the bare-node floor)`,
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  reportStartup(await benchStartup({ rounds: Number(process.env.ROUNDS ?? 5) }), console.log);
}
