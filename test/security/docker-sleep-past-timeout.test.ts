import { afterAll, describe, expect, it } from 'vitest';
import { createDockerBackend } from '../../src/sandbox/docker/index.ts';
import {
  attackTool,
  containersOf,
  expectNoContainersLeft,
  uniqueRunnerId,
  dockerRuntime,
} from '../sandbox/docker/helpers.ts';

// Attack: hold a sandbox (and its CPU and memory) forever.
const runnerId = uniqueRunnerId('sleep');
const backend = createDockerBackend({ runtime: dockerRuntime, runnerId, pool: { size: 1 } });
afterAll(async () => {
  await backend.dispose();
  await expectNoContainersLeft(runnerId);
});

describe('docker sandbox: sleep past the timeout', () => {
  it.each([{ pooled: false }, { pooled: true }])(
    'answers timeout within timeoutMs + 1 s and leaves no container for the call (%j)',
    async ({ pooled }) => {
      const tool = await attackTool('sleep.sh', [], { timeoutMs: 1000 });
      if (pooled) await backend.prewarm(tool);
      const started = Date.now();
      const result = await backend.run({ invocationId: `sleep-${pooled}`, tool, input: {} });
      const elapsed = Date.now() - started;
      expect(result).toMatchObject({
        ok: false,
        code: 'timeout',
        message: 'The tool ran past its time limit (1000 ms) and was stopped.',
      });
      expect(elapsed).toBeGreaterThanOrEqual(1000);
      // The time limit is the tool's: it starts when the input is written. A pooled call (the normal
      // path) answers within timeoutMs + 1 s; a cold one adds its container's start-up, which an
      // overloaded engine can stretch, so it is only bounded loosely here.
      expect(elapsed).toBeLessThan(pooled ? 2000 : 6000);
      // Only the refilled pool container may remain, never a running or exited call container.
      const left = await containersOf(runnerId);
      expect(left.every((c) => c.Labels['toolcage.invocation'] === 'pooled')).toBe(true);
      expect(left.length).toBeLessThanOrEqual(1);
    },
  );
});
