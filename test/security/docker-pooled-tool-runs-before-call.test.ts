/**
 * Attack: a Docker tool whose code does its work as soon as its container
 * starts, before reading its input. Pooled containers are started ahead of
 * their call, so without a gate that code runs with no claim and no audit,
 * burns CPU while idle, and its time limit starts long before its input.
 * The gate (sandboxes/docker/gate/gate.c) is the pooled containers'
 * entrypoint and execs the tool only when the call's input arrives.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createDockerBackend } from '../../src/sandbox/docker/index.ts';
import {
  attackTool,
  containersOf,
  docker,
  expectNoContainersLeft,
  uniqueRunnerId,
  dockerRuntime,
} from '../sandbox/docker/helpers.ts';

const runnerId = uniqueRunnerId('gate');
const backend = createDockerBackend({ runtime: dockerRuntime, runnerId, pool: { size: 1 } });
afterAll(async () => {
  await backend.dispose();
  await expectNoContainersLeft(runnerId);
});

async function pooledProcesses(): Promise<string[]> {
  const pooled = (await containersOf(runnerId)).filter(
    (c) => c.State === 'running' && c.Labels['toolcage.invocation'] === 'pooled',
  );
  expect(pooled.length).toBeGreaterThanOrEqual(1);
  const tops = await Promise.all(
    pooled.map(async (c) => (await docker.getContainer(c.Id).top()) as { Processes: string[][] }),
  );
  return tops.flatMap((t) => t.Processes.map((p) => p.at(-1) ?? ''));
}

describe('docker sandbox: tool code in a pooled container before its call', () => {
  it('never starts: only the gate waits in a pooled container, and a spinning tool is bounded from its call', async () => {
    const spin = {
      ...(await attackTool('echo.sh', [], { timeoutMs: 1500 })),
      id: 'test.spin_at_start',
      command: ['/bin/sh', '-c', 'while :; do :; done'],
    };
    await backend.prewarm(spin);
    await new Promise((r) => setTimeout(r, 500));
    // `docker top` cannot see inside a gVisor sandbox (it lists the host's processes there); under
    // runsc the next test proves the same property from inside, by the tool's own clock.
    if (dockerRuntime === 'runc') await expectOnlyGate();
    const result = await backend.run({ invocationId: 'spin', tool: spin, input: {} });
    expect(result).toMatchObject({ ok: false, code: 'timeout' });
  });

  async function expectOnlyGate(): Promise<void> {
    const commands = await pooledProcesses();
    // The gate (`/run/toolcage/gate /bin/sh -c …`, pid 1); never the tool's shell.
    expect(commands.filter((c) => c.startsWith('/bin/sh'))).toEqual([]);
    expect(commands.some((c) => c.startsWith('/run/toolcage/gate'))).toBe(true);
  }

  it("starts the tool's clock at the call: work done before reading input happens inside the call", async () => {
    const slowStart = {
      ...(await attackTool('echo.sh', [], { timeoutMs: 5000 })),
      id: 'test.slow_start',
      command: ['/bin/sh', '-c', 'sleep 1; exec cat'],
    };
    await backend.prewarm(slowStart);
    // Long enough that a tool started with its container would have finished its head start.
    await new Promise((r) => setTimeout(r, 1500));
    const result = await backend.run({ invocationId: 'slow', tool: slowStart, input: { a: 1 } });
    expect(result).toMatchObject({ ok: true, outputJson: '{"a":1}' });
    expect(result.durationMs).toBeGreaterThanOrEqual(950);
  });
});
