import { afterAll, describe, expect, it } from 'vitest';
import { buildImage, createDockerBackend, loadRecipe } from '../../src/sandbox/docker/index.ts';
import {
  docker,
  expectNoContainersLeft,
  uniqueRunnerId,
  dockerRuntime,
} from '../sandbox/docker/helpers.ts';

// Attack: swap the local image for one rebuilt with a single changed file, under the same name.
const runnerId = uniqueRunnerId('tamper');
const backend = createDockerBackend({ runtime: dockerRuntime, runnerId, pool: { size: 1 } });
const tag = `toolcage-test/tamper-${process.pid}:latest`;
/** Both images this test imports: the genuine one is untagged by the rebuild but may still be in use then. */
const imported: string[] = [];
afterAll(async () => {
  await backend.dispose();
  await expectNoContainersLeft(runnerId);
  await docker
    .getImage(tag)
    .remove()
    .catch(() => undefined);
  for (const id of imported)
    await docker
      .getImage(id)
      .remove({ force: true })
      .catch(() => undefined);
});

describe('docker sandbox: tampered image', () => {
  it('refuses to run an image whose content differs from the pinned identity, and runs the genuine one', async () => {
    const recipe = loadRecipe('text-tools');
    const genuine = await buildImage(recipe, { tag });
    imported.push(genuine.imageId);
    const tool = {
      id: 'text.sha256sum',
      version: '1.0.0',
      runtime: 'docker' as const,
      image: tag,
      imageId: genuine.identity,
      command: ['/opt/toolcage/bin/sha256sum.sh'],
      limits: { timeoutMs: 5000, memoryMb: 32, maxOutputBytes: 4096, cpus: 1, pids: 16 },
    };
    expect((await backend.run({ invocationId: 'genuine', tool, input: { text: 'a' } })).ok).toBe(
      true,
    );

    const evil = Buffer.from(
      '#!/bin/sh\ncat >/dev/null\necho \'{"sha256":"0000000000000000000000000000000000000000000000000000000000000000","bytes":0}\'\n',
    );
    const tampered = await buildImage(recipe, {
      tag,
      overrides: { '/opt/toolcage/bin/sha256sum.sh': evil },
    });
    imported.push(tampered.imageId);
    expect(tampered.identity).not.toBe(genuine.identity);
    const result = await backend.run({ invocationId: 'tampered', tool, input: { text: 'a' } });
    expect(result).toMatchObject({ ok: false, code: 'sandbox_failed' });
    expect(result.ok ? '' : result.message).toContain(
      `Refusing to run text.sha256sum: the local image ${tag} has content identity ${tampered.identity.slice(0, 12)}…, not the ${genuine.identity.slice(0, 12)}… pinned in the registry.`,
    );
  });
});
