/**
 * A private Docker Engine for fault-injection tests: its own dockerd (and
 * the containerd it manages), data root, exec root, pid file and socket,
 * no bridge and no iptables, so killing and restarting it never touches the
 * shared engine other tests use. Images come from the shared engine,
 * offline (`docker save | docker load`).
 *
 * @example
 * const engine = await startPrivateEngine('faults');
 * try { await engine.loadImage('toolcage-test/attack:latest'); … await engine.kill(); await engine.start(); }
 * finally { await engine.destroy(); }
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import Docker from 'dockerode';

export interface PrivateEngine {
  /** The engine's unix socket (for `createDockerBackend({ socketPath })`). */
  readonly socketPath: string;
  readonly docker: Docker;
  /** Starts dockerd (again) and resolves when it answers. */
  start(): Promise<void>;
  /** SIGKILLs dockerd, as a crash would; its containerd and containers live on until the next start. */
  kill(): Promise<void>;
  /** Copies an image from the shared engine into this one. */
  loadImage(ref: string): Promise<void>;
  /** The last lines of dockerd's log (for failure messages). */
  logTail(lines?: number): string;
  /** Removes every container, stops dockerd and its containerd, unmounts and deletes its folders. Idempotent. */
  destroy(): Promise<void>;
}

/** Whether `pid` runs (a zombie does not: this machine's init may never reap one). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Processes whose command line holds `arg` (only ever this engine's unique namespace). */
function processesWith(arg: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').includes(arg))
        out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

function pidFrom(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function until(check: () => Promise<boolean> | boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

export interface PrivateEngineOptions {
  /** Its daemon.json (never the machine's /etc/docker/daemon.json). Default `{}`: only runc. */
  daemonJson?: Record<string, unknown>;
}

/** Starts a private dockerd named after `name` and this process. Needs root and dockerd on PATH. */
export async function startPrivateEngine(
  name: string,
  options: PrivateEngineOptions = {},
): Promise<PrivateEngine> {
  const id = `${name}-${process.pid}-${Date.now().toString(36)}`;
  // Short paths: containerd's and the shims' unix sockets live under the exec root (108-byte limit).
  const root = `/tmp/tcd-${id}`;
  const socketPath = `/tmp/tcd-${id}.sock`;
  const exec = `${root}/x`;
  const pidfile = `${root}/dockerd.pid`;
  const log = `${root}/dockerd.log`;
  mkdirSync(`${root}/data`, { recursive: true, mode: 0o700 });
  mkdirSync(exec, { recursive: true, mode: 0o700 });
  writeFileSync(`${root}/daemon.json`, JSON.stringify(options.daemonJson ?? {}));
  const docker = new Docker({ socketPath });
  let proc: ChildProcess | undefined;
  let destroyed = false;

  const ping = async (): Promise<boolean> => {
    try {
      await new Docker({ socketPath, timeout: 1000 }).ping();
      return true;
    } catch {
      return false;
    }
  };

  const start = async (): Promise<void> => {
    if (destroyed) throw new Error('this private engine was destroyed');
    if (proc && proc.exitCode === null && proc.signalCode === null) return;
    const out = openSync(log, 'a');
    proc = spawn(
      'dockerd',
      [
        '--config-file',
        `${root}/daemon.json`,
        '--data-root',
        `${root}/data`,
        '--exec-root',
        exec,
        '--pidfile',
        pidfile,
        '-H',
        `unix://${socketPath}`,
        '--bridge=none',
        '--iptables=false',
        '--ip6tables=false',
        '--containerd-namespace',
        `tcd-${id}`,
        '--containerd-plugins-namespace',
        `tcd-${id}-plugins`,
      ],
      { stdio: ['ignore', out, out] },
    );
    closeSync(out);
    proc.on('error', () => undefined);
    if (!(await until(ping, 60_000))) {
      const tail = engine.logTail();
      await engine.destroy();
      throw new Error(`the private dockerd did not come up in 60 s:\n${tail}`);
    }
  };

  const kill = async (): Promise<void> => {
    const p = proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
    // A crashed dockerd leaves its pid file: the next start must not read it as a live engine.
    rmSync(pidfile, { force: true });
    // Its containerd dies with it (parent-death signal) but may stay a zombie here; a stale pid file
    // would make the next dockerd wait for that corpse instead of starting a new containerd.
    const containerdPid = pidFrom(`${exec}/containerd/containerd.pid`);
    if (containerdPid !== undefined) {
      await until(() => !alive(containerdPid), 3000);
      if (!alive(containerdPid)) rmSync(`${exec}/containerd/containerd.pid`, { force: true });
    }
  };

  const engine: PrivateEngine = {
    socketPath,
    docker,
    start,
    kill,
    async loadImage(ref) {
      const save = spawn('docker', ['save', ref], { stdio: ['ignore', 'pipe', 'pipe'] });
      const load = spawn('docker', ['-H', `unix://${socketPath}`, 'load', '-q'], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      save.stdout.pipe(load.stdin);
      let err = '';
      save.stderr.on('data', (d: Buffer) => (err += d.toString()));
      load.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const [a, b] = await Promise.all(
        [save, load].map((p) => new Promise<number | null>((r) => p.once('exit', r))),
      );
      if (a !== 0 || b !== 0) throw new Error(`docker save ${ref} | docker load failed: ${err}`);
    },
    logTail(lines = 20) {
      try {
        return readFileSync(log, 'utf8').trim().split('\n').slice(-lines).join('\n');
      } catch {
        return '(no log)';
      }
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      const containerdPid = pidFrom(`${exec}/containerd/containerd.pid`);
      if (proc && proc.exitCode === null && proc.signalCode === null) {
        // Remove every container through the engine, so containerd's shims end with them.
        const list = await docker.listContainers({ all: true }).catch(() => []);
        await Promise.all(
          list.map((c) =>
            docker
              .getContainer(c.Id)
              .remove({ force: true, v: true })
              .catch(() => undefined),
          ),
        );
        const p = proc;
        const exited = new Promise((r) => p.once('exit', r));
        p.kill('SIGTERM');
        const stopped = await Promise.race([
          exited.then(() => true),
          new Promise<boolean>((r) => setTimeout(() => r(false), 15_000)),
        ]);
        if (!stopped) {
          p.kill('SIGKILL');
          await exited;
        }
      }
      // The containerd dockerd started (only ever ours: it lives under our exec root).
      if (containerdPid !== undefined && alive(containerdPid)) {
        process.kill(containerdPid, 'SIGTERM');
        if (!(await until(() => !alive(containerdPid), 10_000)))
          process.kill(containerdPid, 'SIGKILL');
      }
      // Shims of our namespace whose containerd is gone (a failed restart): their containers' init
      // (tini, pid 1 of its namespace: killing it ends the namespace), then the shim.
      for (const shim of processesWith(`tcd-${id}`)) {
        for (const child of childrenOf(shim)) process.kill(child, 'SIGKILL');
        try {
          process.kill(shim, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      // Mounts left under our folders (overlay layers, shm, netns), deepest first.
      const mounts = readFileSync('/proc/self/mounts', 'utf8')
        .split('\n')
        .map((l) => l.split(' ')[1] ?? '')
        .filter((m) => m.startsWith(`${root}/`))
        .sort((x, y) => y.length - x.length);
      for (const m of mounts) spawnSync('umount', ['-l', m]);
      rmSync(root, { recursive: true, force: true });
      rmSync(socketPath, { force: true });
      if (existsSync(root)) throw new Error(`could not remove ${root}`);
    },
  };
  await start();
  return engine;
}
