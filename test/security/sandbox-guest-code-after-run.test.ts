// Attack: a tool starts a host call (ctx.fetch) without awaiting it, attaches a continuation that
// spins (or re-arms itself), and returns at once. When the host call settles after the run, the
// continuation would run inside the reused isolate outside any time limit, starving the next
// calls on that worker (other tenants' tools, blamed on them). Proven with the worker process's
// own CPU time after the run, not only with the next call's latency.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxBackend } from '../../src/ports/sandbox.ts';
import {
  expectBenignSucceeds,
  request,
  startBackend,
  workerPids,
} from '../sandbox/isolated-vm/helpers.ts';
import { startKit, type Kit } from '../egress/kit.ts';
import { startLoopbackServer, type LoopbackServer } from '../egress/helpers.ts';

let backend: SandboxBackend;
beforeAll(async () => {
  backend = await startBackend({ workers: 1 });
});
afterAll(async () => {
  await backend.dispose();
});

/** utime + stime of a process, in milliseconds (from /proc; clock ticks are 100 Hz on Linux). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** CPU the given processes burn over `ms` of wall time while nothing is asked of them. */
async function idleCpuMs(pids: number[], ms: number): Promise<number> {
  const before = pids.map(cpuMs);
  await new Promise((r) => setTimeout(r, ms));
  return pids.map(cpuMs).reduce((sum, after, i) => sum + after - before[i]!, 0);
}

const SPIN = 'for (;;) {}';

const attacks: Array<[string, string]> = [
  [
    'a spinning continuation on an unawaited ctx.fetch',
    `export default function run(input, ctx) { ctx.fetch('http://example.test/').then(() => { ${SPIN} }, () => { ${SPIN} }); return { n: 1 }; }`,
  ],
  [
    'a continuation that re-arms itself through ctx.fetch',
    `export default function run(input, ctx) {
       const again = () => ctx.fetch('http://example.test/').catch(() => { for (let i = 0; i < 2e6; i++); again(); });
       again();
       return { n: 1 };
     }`,
  ],
  [
    // isolated-vm resolves the guest's bridge promise with another promise, so V8 looks up `then`,
    // `constructor` and the species: replaced ones would be called back after the run.
    'a replaced Promise.prototype.then, constructor and species that hook the bridge promise itself',
    `export default function run(input, ctx) {
       const poisoned = [];
       const attempt = (name, fn) => { try { fn(); poisoned.push(name); } catch {} };
       const then = Promise.prototype.then;
       class Evil extends Promise { constructor(exec) { super(exec); ${SPIN} } }
       ctx.fetch('http://example.test/');
       attempt('then', () => { Promise.prototype.then = function (ok, fail) { return then.call(this, () => { ${SPIN} }, () => { ${SPIN} }); }; });
       attempt('constructor', () => Object.defineProperty(Promise.prototype, 'constructor', { value: Evil }));
       attempt('species', () => Object.defineProperty(Promise, Symbol.species, { get() { return Evil; } }));
       return { n: 1, poisoned };
     }`,
  ],
];

for (const [name, source] of attacks) {
  it(`${name}: no guest code runs after the run settles`, async () => {
    const pids = workerPids();
    expect(pids.length).toBe(1);
    const started = Date.now();
    const result = await backend.run(request(source, { timeoutMs: 2000 }));
    expect(result.ok).toBe(true);
    // Promise and its prototype are frozen in the sandbox: every attempt fails.
    if (result.ok && source.includes('poisoned'))
      expect(JSON.parse(result.outputJson)).toEqual({ n: 1, poisoned: [] });
    expect(Date.now() - started).toBeLessThan(1000);
    // The worker is idle now: any CPU it burns is guest code running with no run to bound it.
    expect(await idleCpuMs(pids, 600)).toBeLessThan(150);
    const next = Date.now();
    await expectBenignSucceeds(backend);
    expect(Date.now() - next).toBeLessThan(500);
  });
}

it('the bridge closes only when the guest is done: awaited ctx.fetch refusals still reach the tool during its run', async () => {
  const result = await backend.run(
    request(
      `export default async function run(input, ctx) { try { await ctx.fetch('http://example.test/'); return 'no'; } catch (e) { return e.kind; } }`,
    ),
  );
  expect(result).toMatchObject({ ok: true, outputJson: '"not_allowed"' });
});

describe('with real egress', () => {
  let kit: Kit;
  let slow: LoopbackServer;
  beforeAll(async () => {
    // The answer comes after the tool has returned: it would land in the reused isolate.
    slow = await startLoopbackServer((_req, res) => {
      setTimeout(() => res.end('late'), 300);
    });
    kit = await startKit({
      tools: [
        {
          id: 'attack.late_answer',
          egress: [{ host: '127.0.0.1', port: slow.port }],
          source: `export default function run(input, ctx) { ctx.fetch('http://127.0.0.1:${slow.port}/').then(() => { ${SPIN} }, () => { ${SPIN} }); return { n: 1 }; }`,
        },
        {
          id: 'test.benign',
          egress: [],
          source: 'export default function run() { return { ok: true }; }',
        },
      ],
      config: `egress:\n  unsafeAllowPrivateAddresses: ["127.0.0.1/32"]\n`,
    });
  });
  afterAll(async () => {
    await kit?.close();
    await slow?.close();
  });

  it('an answer that arrives after the run never reaches the guest, and the worker stays idle', async () => {
    await kit.call('test.benign');
    const pids = workerPids();
    expect(await kit.call('attack.late_answer')).toEqual({ n: 1 });
    await new Promise((r) => setTimeout(r, 400)); // the late answer has arrived by now
    expect(await idleCpuMs(pids, 600)).toBeLessThan(150);
    const next = Date.now();
    expect(await kit.call('test.benign')).toEqual({ ok: true });
    expect(Date.now() - next).toBeLessThan(500);
  });
});
