/**
 * One JS sandbox worker process driven directly (no runner, no claims): runs
 * of the word-count tool back to back, and the worker's CPU per call by
 * thread from /proc (its own thread, isolated-vm's threads, V8's), so a change
 * to the worker can be measured without the main process's share and noise.
 * With PROFILE_DIR the worker also writes a .cpuprofile there on exit.
 *
 *   [N=4000] [MORE=1] [PROFILE_DIR=/tmp/prof] node --no-node-snapshot bench/profile-worker.ts
 *
 * MORE=1 marks each run as having more behind it (as the host does under
 * load): the worker then makes each context on the run's path instead of a
 * spare between runs.
 */
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { HostMessage, WorkerReply } from '../src/sandbox/isolated-vm/protocol.ts';
import { argsOf } from './floor.ts';

/** CPU ms per thread of `pid`, keyed by thread name ('main' for the process's own thread). */
function threadCpuMs(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name =
        tid === String(pid) ? 'main' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      byName.set(name, (byName.get(name) ?? 0) + (Number(f[11]) + Number(f[12])) * 10);
    } catch {
      // the thread ended
    }
  }
  return byName;
}

const source = readFileSync(
  new URL('../tool-manifests/text.word_count/word_count.js', import.meta.url),
  'utf8',
);
const hash = createHash('sha256').update(source).digest('hex');
const profileDir = process.env.PROFILE_DIR;
const child = fork(new URL('../src/sandbox/isolated-vm/worker.ts', import.meta.url), [], {
  execArgv: [
    ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
    '--no-node-snapshot',
    '--max-old-space-size=256',
  ],
  env: {},
  serialization: 'advanced',
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const waiting = new Map<number, () => void>();
child.on('message', (reply: WorkerReply) => {
  if (reply.t !== 'done') return;
  if (!reply.ok) console.error(`run ${reply.id} failed: ${reply.code} ${reply.message}`);
  waiting.get(reply.id)?.();
});
await new Promise<void>((resolve) => child.once('message', () => resolve()));

let id = 0;
const more = process.env.MORE === '1';
function call(i: number): Promise<void> {
  const message: HostMessage = {
    t: 'run',
    id: ++id,
    hash,
    ...(i === 0 ? { source } : {}),
    filename: 'tool:text.word_count@1.0.0',
    timeoutMs: 1000,
    memoryMb: 32,
    maxOutputBytes: 1024,
    inputJson: JSON.stringify(argsOf(i)),
    ctxJson: JSON.stringify({
      invocationId: `inv_${i}`,
      tool: { id: 'text.word_count', version: '1.0.0' },
      credentials: {},
    }),
    more,
  };
  child.send(message);
  return new Promise((resolve) => waiting.set(message.id, resolve));
}

const n = Number(process.env.N ?? 4000);
for (let i = 0; i < 300; i++) await call(i);
const before = threadCpuMs(child.pid!);
const started = performance.now();
for (let i = 0; i < n; i++) await call(i);
const seconds = (performance.now() - started) / 1000;
const after = threadCpuMs(child.pid!);
let total = 0;
const parts: string[] = [];
for (const [name, ms] of after) {
  const used = ms - (before.get(name) ?? 0);
  total += used;
  if (used > 0) parts.push(`${name} ${((used * 1000) / n).toFixed(0)}`);
}
console.log(
  `worker CPU per call ${((total * 1000) / n).toFixed(0)} µs (${parts.join(', ')}); ${(n / seconds).toFixed(0)} calls/s`,
);
child.disconnect();
