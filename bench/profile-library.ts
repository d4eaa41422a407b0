/**
 * Where a saturated library run (8 calls in flight) spends its CPU, per
 * process: the runner's main process (process.cpuUsage) and its sandbox
 * workers (/proc), in microseconds of CPU per call, next to the floor's CPU
 * per call (jose verify + raw isolated-vm call in one process). On a machine
 * shared with other load, CPU per call is steadier than calls/s.
 * With PROFILE_OUT the main process's measured calls are also written as a
 * .cpuprofile (minting and warm-up left out).
 *
 *   [WORKERS=2] [N=4000] [PROFILE_OUT=/tmp/main.cpuprofile] node --no-node-snapshot bench/profile-library.ts
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { readdirSync, readFileSync } from 'node:fs';
import { benchRunner } from './library.ts';
import { floorCaller } from './floor.ts';

/** CPU ms (user+system) of this process's children, from /proc. */
function childrenCpuMs(): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[1]) === process.pid) ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // gone
    }
  }
  return ticks * 10;
}

const n = Number(process.env.N ?? 4000);
const out = process.env.PROFILE_OUT;
const workers = process.env.WORKERS ? Number(process.env.WORKERS) : undefined;
const r = await benchRunner(
  n + 200,
  workers ? { sandbox: { js: { workers }, docker: { enabled: false } } } : {},
);
const session = new Session();
try {
  for (let i = 0; i < 200; i++) await r.call(i);
  if (out) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  let next = 200;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const kids0 = childrenCpuMs();
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < n + 200) await r.call(next++);
    }),
  );
  const s = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const kids = childrenCpuMs() - kids0;
  console.log(`workers CPU ${((kids * 1000) / n).toFixed(0)} µs/call`);
  const floor = floorCaller(r.dir, r.claims);
  for (let i = 0; i < 200; i++) await floor.call(i);
  const f0 = process.cpuUsage();
  const ft = performance.now();
  for (let i = 0; i < n; i++) await floor.call(i);
  const fc = process.cpuUsage(f0);
  console.log(
    `floor: ${((n * 1000) / (performance.now() - ft)).toFixed(0)} calls/s on one process, CPU ${((fc.user + fc.system) / n).toFixed(0)} µs/call`,
  );
  floor.dispose();
  console.log(
    `${n} calls, ${(n / s).toFixed(0)} calls/s; main process CPU ${((cpu.user + cpu.system) / n).toFixed(0)} µs/call (user ${(cpu.user / n).toFixed(0)}, system ${(cpu.system / n).toFixed(0)})`,
  );
  if (out) {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(out, JSON.stringify(profile));
  }
} finally {
  session.disconnect();
  await r.close();
}
