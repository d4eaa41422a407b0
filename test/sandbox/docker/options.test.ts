import { describe, expect, it } from 'vitest';
import { createDockerBackend } from '../../../src/sandbox/docker/index.ts';

describe('createDockerBackend options', () => {
  it.each([
    [{ pool: { size: -1 } }, 'Expected options.pool.size to be an integer from 0 to 64, got -1'],
    [
      { pool: { size: 2, idleMs: 0 } },
      'Expected options.pool.idleMs to be an integer from 100 to 86400000, got 0',
    ],
    [
      { runnerId: 'has space' },
      'Expected options.runnerId to match /^[A-Za-z0-9_.-]{1,64}$/, got "has space"',
    ],
    [
      { socketPath: 'docker.sock' },
      'Expected options.socketPath to be an absolute path, got "docker.sock"',
    ],
    [{ tmpfsMb: 0 }, 'Expected options.tmpfsMb to be an integer from 1 to 1024, got 0'],
    [{ pool: 3 }, 'Expected options.pool to be an object like { size: 2, idleMs: 60000 }, got 3'],
    [
      { pool: { size: 2, maxStarting: 0 } },
      'Expected options.pool.maxStarting to be an integer from 1 to 256, got 0',
    ],
  ])('refuses %j with a TypeError', (options, message) => {
    expect(() => createDockerBackend({ ...(options as object), cleanupOnStart: false })).toThrow(
      new TypeError(message),
    );
  });

  it('takes a maxStarting below the pool size (the pool fills in waves) and defaults it to max(size, 8)', async () => {
    const { resolveOptions } = await import('../../../src/sandbox/docker/options.ts');
    expect(resolveOptions({ pool: { size: 8, maxStarting: 2 } }).maxStarting).toBe(2);
    expect(resolveOptions({ pool: { size: 2 } }).maxStarting).toBe(8);
    expect(resolveOptions({ pool: { size: 12 } }).maxStarting).toBe(12);
  });

  it('refuses a run whose tool is not a docker tool, or has no pinned identity (a bad call throws)', async () => {
    const backend = createDockerBackend({
      socketPath: '/nonexistent/docker.sock',
      cleanupOnStart: false,
    });
    const tool = {
      id: 'a.b',
      version: '1.0.0',
      runtime: 'docker' as const,
      image: 'toolcage/text-tools',
      command: ['/x'],
      limits: { timeoutMs: 100, memoryMb: 32, maxOutputBytes: 10 },
    };
    await expect(
      backend.run({ invocationId: 'i', tool: { ...tool, runtime: 'js' }, input: {} }),
    ).rejects.toThrow(new TypeError('Expected a docker tool, got runtime "js"'));
    await expect(backend.run({ invocationId: 'i', tool, input: {} })).rejects.toThrow(
      /Expected tool.imageId to be the pinned content identity/,
    );
    await backend.dispose();
  });
});
