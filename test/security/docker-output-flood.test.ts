import { afterAll, describe, expect, it } from 'vitest';
import { createDockerBackend } from '../../src/sandbox/docker/index.ts';
import {
  attackTool,
  expectNoContainersLeft,
  uniqueRunnerId,
  dockerRuntime,
} from '../sandbox/docker/helpers.ts';

// Attack: write stdout without end, to exhaust the runner's memory or disk.
const runnerId = uniqueRunnerId('flood');
const backend = createDockerBackend({ runtime: dockerRuntime, runnerId, pool: { size: 0 } });
afterAll(async () => {
  await backend.dispose();
  await expectNoContainersLeft(runnerId);
});

describe('docker sandbox: output flood', () => {
  it('is cut at maxOutputBytes with output_too_large, long before the timeout, without buffering the flood', async () => {
    const tool = await attackTool('flood.sh', [], { maxOutputBytes: 16_384, timeoutMs: 10_000 });
    const heapBefore = process.memoryUsage().rss;
    const result = await backend.run({ invocationId: 'flood', tool, input: {} });
    expect(result).toMatchObject({
      ok: false,
      code: 'output_too_large',
      message:
        'The tool wrote more than its maxOutputBytes limit (16384 bytes) to stdout and was stopped.',
    });
    expect(result.durationMs).toBeLessThan(5000);
    expect(process.memoryUsage().rss - heapBefore).toBeLessThan(64 * 1024 * 1024);
  });
});
