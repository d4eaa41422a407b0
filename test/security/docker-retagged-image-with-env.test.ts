/**
 * Attack: put an image under the tool's name that has exactly the pinned
 * layers but an added config the engine applies to every container: here
 * an extra `Env` (a proxy setting, a preload path…); an `Entrypoint`, a
 * `Healthcheck` or `Volumes` would do the same. The layer identity alone
 * matches; the backend must also pin the config (toolcage's images carry
 * none) and refuse the image before any container is made from it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createDockerBackend, identityOfTar, loadRecipe } from '../../src/sandbox/docker/index.ts';
import { rootfsEntries } from '../../src/sandbox/docker/build/recipe.ts';
import { deterministicTar } from '../../src/sandbox/docker/build/tar.ts';
import {
  docker,
  expectNoContainersLeft,
  uniqueRunnerId,
  dockerRuntime,
} from '../sandbox/docker/helpers.ts';

const runnerId = uniqueRunnerId('retag-env');
const backend = createDockerBackend({ runtime: dockerRuntime, runnerId, pool: { size: 0 } });
const repo = `toolcage-test/retag-env-${process.pid}`;
afterAll(async () => {
  await backend.dispose();
  await expectNoContainersLeft(runnerId);
  for (const tag of ['plain', 'env'])
    await docker
      .getImage(`${repo}:${tag}`)
      .remove({ force: true })
      .catch(() => undefined);
});

/** Imports the attack image's rootfs tar under `repo:tag`, with Dockerfile-style `changes`. */
async function importWith(tar: Buffer, tag: string, changes: string[]): Promise<void> {
  const stream = await docker.importImage(tar as unknown as NodeJS.ReadableStream, {
    repo,
    tag,
    ...(changes.length > 0 ? { changes } : {}),
  });
  await new Promise<void>((resolve, reject) =>
    docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve())),
  );
}

describe('docker sandbox: an image re-tagged with the pinned layers and an added Env', () => {
  it('is refused, naming the config it sets; the same layers without config run', async () => {
    const tar = deterministicTar(rootfsEntries(loadRecipe('test-attack')));
    await importWith(tar, 'plain', []);
    await importWith(tar, 'env', ['ENV LD_PRELOAD=/tmp/evil.so', 'ENV SMUGGLED=from-the-image']);
    const env = await docker.getImage(`${repo}:env`).inspect();
    const plain = await docker.getImage(`${repo}:plain`).inspect();
    // Same layers, so the same layer identity: only the config differs.
    expect(env.RootFS.Layers).toEqual(plain.RootFS.Layers);
    const tool = (tag: string) => ({
      id: 'test.env_probe',
      version: '1.0.0',
      runtime: 'docker' as const,
      image: `${repo}:${tag}`,
      imageId: identityOfTar(tar),
      command: ['/bin/sh', '-c', 'cat >/dev/null; printf "{\\"smuggled\\":\\"%s\\"}" "$SMUGGLED"'],
      limits: { timeoutMs: 5000, memoryMb: 32, maxOutputBytes: 4096, cpus: 1, pids: 16 },
    });

    const ok = await backend.run({ invocationId: 'plain', tool: tool('plain'), input: {} });
    expect(ok).toMatchObject({ ok: true, outputJson: '{"smuggled":""}' });

    const refused = await backend.run({ invocationId: 'env', tool: tool('env'), input: {} });
    expect(refused).toMatchObject({ ok: false, code: 'sandbox_failed' });
    expect(refused.ok ? '' : refused.message).toContain(
      `Refusing to run test.env_probe: the local image ${repo}:env has the pinned layers but also sets Env in its config`,
    );
  });
});
