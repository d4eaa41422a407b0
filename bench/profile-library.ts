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
import { readdirSync, readFileSync } from 'node:fs';
import { benchRunner } from './library.ts';
import { floorCaller } from './floor.ts';
import { profileTo } from './cpu-profile.ts';

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
let stopProfile = async (): Promise<void> => {};
try {
  for (let i = 0; i < 200; i++) await r.call(i);
  stopProfile = await profileTo(out);
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
  await stopProfile();
  const main = cpu.user + cpu.system;
  console.log(
    `library, 8 in flight: ${n} calls, ${(n / s).toFixed(0)} calls/s; CPU per call: main process ${(main / n).toFixed(0)} µs (system ${(cpu.system / n).toFixed(0)}), workers ${((kids * 1000) / n).toFixed(0)} µs`,
  );
  // The floor in this process, right after: its CPU per call is what the two-core floor spends.
  const floor = floorCaller(r.dir, r.claims);
  for (let i = 0; i < 200; i++) await floor.call(i);
  const f0 = process.cpuUsage();
  const ft = performance.now();
  for (let i = 0; i < n; i++) await floor.call(i);
  const fc = process.cpuUsage(f0);
  floor.dispose();
  const floorCpu = fc.user + fc.system;
  console.log(
    `floor, one process: ${((n * 1000) / (performance.now() - ft)).toFixed(0)} calls/s; CPU per call ${(floorCpu / n).toFixed(0)} µs`,
  );
  console.log(
    `library CPU per call / floor CPU per call = ${((main + kids * 1000) / floorCpu).toFixed(2)}x (on saturated cores, throughput is at most its inverse of the floor's)`,
  );
} finally {
  await r.close();
}
