import { afterAll, describe, expect, it } from 'vitest';
import { createDockerBackend } from '../../src/sandbox/docker/index.ts';
import {
  attackTool,
  expectNoContainersLeft,
  textTool,
  uniqueRunnerId,
  dockerRuntime,
} from '../sandbox/docker/helpers.ts';

// Attack: allocate without bound, in each shape a tool could: one huge string,
// many small allocations, the shell itself, and several processes at once.
const runnerId = uniqueRunnerId('mem');
const backend = createDockerBackend({ runtime: dockerRuntime, runnerId, pool: { size: 0 } });
afterAll(async () => {
  await backend.dispose();
  await expectNoContainersLeft(runnerId);
});

describe('docker sandbox: memory bombs', () => {
  it.each(['string', 'array', 'shell', 'procs'])(
    'a %s memory bomb ends as memory_limit',
    async (kind) => {
      const tool = await attackTool('membomb.sh', [kind], { memoryMb: 24, timeoutMs: 10_000 });
      const result = await backend.run({ invocationId: `mem-${kind}`, tool, input: {} });
      expect(result).toMatchObject({
        ok: false,
        code: 'memory_limit',
        message: 'The tool used more than its memory limit (24 MiB) and was killed.',
      });
    },
  );

  it('the next call works', async () => {
    expect(
      (
        await backend.run({
          invocationId: 'after',
          tool: await textTool('sha256sum'),
          input: { text: '' },
        })
      ).ok,
    ).toBe(true);
  });
});
