import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { createDockerBackend } from '../../src/sandbox/docker/index.ts';
import {
  attackTool,
  docker,
  expectNoContainersLeft,
  textTool,
  uniqueRunnerId,
  dockerRuntime,
} from '../sandbox/docker/helpers.ts';

// Attack: `:(){ :|:& };:` inside the container, to exhaust the host's process table.
const runnerId = uniqueRunnerId('fork');
// A warm container per bomb, so durations measure the tool's time, not container start-up.
const backend = createDockerBackend({ runtime: dockerRuntime, runnerId, pool: { size: 1 } });
afterAll(async () => {
  await backend.dispose();
  await expectNoContainersLeft(runnerId);
});

describe('docker sandbox: fork bomb', () => {
  it('is held at the pids limit, ends as timeout naming the exhausted process limit (or as memory_limit), and the host can still fork', async () => {
    const tool = await attackTool('forkbomb.sh', ['sustained'], { timeoutMs: 4000, pids: 24 });
    await backend.prewarm(tool);
    const pending = backend.run({ invocationId: 'bomb', tool, input: {} });
    // Mid-bomb: the container never holds more processes than its limit, and the host still forks.
    // (The pool's refill of this tool is labelled alike: count the busiest container.) Polled, as a
    // loaded machine grows the bomb slowly.
    let busiest = 0;
    // `docker top` cannot see inside a gVisor sandbox (there the limit is RLIMIT_NPROC, enforced by
    // gVisor's kernel); the outcome and the host's health below are checked under both runtimes.
    for (let i = 0; dockerRuntime === 'runc' && i < 15 && busiest < 20; i++) {
      await new Promise((r) => setTimeout(r, 200));
      const running = await docker.listContainers({
        filters: {
          label: [`toolcage.runner=${runnerId}`, 'toolcage.tool=test.forkbomb_sustained@1.0.0'],
        },
      });
      const counts = await Promise.all(
        running.map(
          async (c) =>
            (
              await docker
                .getContainer(c.Id)
                .top()
                .catch(() => ({ Processes: [] as string[][] }))
            ).Processes.length,
        ),
      );
      busiest = Math.max(busiest, ...counts);
      expect(busiest).toBeLessThanOrEqual(24);
    }
    if (dockerRuntime === 'runc') expect(busiest).toBeGreaterThanOrEqual(20); // ran, held at the limit
    expect(spawnSync('/bin/true').status).toBe(0);
    const result = await pending;
    // A bomb held at its pids limit ends at the deadline, or, when its processes fill the memory
    // limit first (a loaded machine slows the clock-side kill, not the bomb), as memory_limit. Both
    // are this limit's honest outcomes; anything else (success, a crash blamed elsewhere) fails.
    expect(result.ok).toBe(false);
    const { code, message } = result as { code: string; message: string };
    expect(['timeout', 'memory_limit']).toContain(code);
    // The message names the exhausted process limit when the runner's best-effort count (docker top,
    // 400 ms budget) came back in time; an overloaded engine may not answer that fast.
    expect(message).toMatch(
      code === 'timeout'
        ? /^The tool ran past its time limit \(4000 ms\)( with its process limit \(pids 24\) exhausted, as a fork bomb does;| and was)/
        : /^The tool used more than its memory limit \(32 MiB\) and was killed\.$/,
    );
    // Stopped at its deadline: the kill (a process-count probe of up to 400 ms, then a forced
    // removal) fits in 2 s even on an engine loaded by other work; a hang would not.
    expect(result.durationMs).toBeLessThan(4000 + 2000);
  });

  it('the classic one-liner is contained too: a failure (the shell dies on a failed fork, or the deadline), never a hang', async () => {
    const tool = await attackTool('forkbomb.sh', ['classic'], { timeoutMs: 2000, pids: 24 });
    await backend.prewarm(tool);
    const result = await backend.run({ invocationId: 'classic', tool, input: {} });
    expect(result.ok).toBe(false);
    // Every honest end of a contained bomb; never success, never a wrong code.
    expect(['sandbox_failed', 'timeout', 'memory_limit']).toContain(result.ok ? '' : result.code);
    expect(result.durationMs).toBeLessThan(3000);
    expect(spawnSync('/bin/true').status).toBe(0);
  });

  it('leaves nothing behind: the next call works', async () => {
    const result = await backend.run({
      invocationId: 'after',
      tool: await textTool('sha256sum'),
      input: { text: 'still fine' },
    });
    expect(result.ok).toBe(true);
  });
});
