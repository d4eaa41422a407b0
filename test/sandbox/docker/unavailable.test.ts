import { describe, expect, it } from 'vitest';
import { createDockerBackend } from '../../../src/sandbox/docker/index.ts';

describe('docker backend without an engine', () => {
  const socketPath = '/tmp/toolcage-no-engine-here.sock';
  const tool = {
    id: 'text.sha256sum',
    version: '1.0.0',
    runtime: 'docker' as const,
    image: 'toolcage/text-tools',
    imageId: 'a'.repeat(64),
    command: ['/opt/toolcage/bin/sha256sum.sh'],
    limits: { timeoutMs: 1000, memoryMb: 32, maxOutputBytes: 1024 },
  };

  it('constructs, reports itself unusable naming the socket, and answers sandbox_unavailable naming it', async () => {
    const backend = createDockerBackend({ socketPath });
    await backend.ready();
    const health = await backend.health();
    expect(health.usable).toBe(false);
    expect(health.detail).toContain(`unix://${socketPath}`);
    const result = await backend.run({ invocationId: 'u-1', tool, input: { text: 'x' } });
    expect(result).toMatchObject({ ok: false, code: 'sandbox_unavailable' });
    expect(result.ok ? '' : result.message).toBe(
      `The Docker engine is not reachable at unix://${socketPath} (ENOENT). Start dockerd, or point the runner at the right socket.`,
    );
    expect(backend.poolState().tools).toEqual([]);
    await backend.dispose();
  });
});
