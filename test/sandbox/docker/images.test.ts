import { afterAll, describe, expect, it } from 'vitest';
import {
  buildImage,
  identityOfTar,
  imageContentIdentity,
  loadRecipe,
  loadRecipes,
} from '../../../src/sandbox/docker/index.ts';
import { rootfsEntries } from '../../../src/sandbox/docker/build/recipe.ts';
import { deterministicTar } from '../../../src/sandbox/docker/build/tar.ts';
import { docker } from './helpers.ts';
import { cliMessage } from '../../../src/cli/hints.ts';

const tag = `toolcage-test/repro-${process.pid}:latest`;
afterAll(async () => {
  await docker
    .getImage(tag)
    .remove()
    .catch(() => undefined);
});

describe('offline, reproducible images', () => {
  it('the rootfs tar is byte-identical across builds: sorted, mtime 0, numeric root owner', () => {
    const recipe = loadRecipe('text-tools');
    const a = deterministicTar(rootfsEntries(recipe));
    const b = deterministicTar(rootfsEntries(recipe).reverse());
    expect(a.equals(b)).toBe(true);
    // First entry header: mtime field is zero, uid/gid zero, empty user/group names.
    expect(a.subarray(136, 147).toString()).toBe('00000000000');
    expect(a.subarray(108, 115).toString()).toBe('0000000');
    expect(a.subarray(265, 265 + 32).every((x) => x === 0)).toBe(true);
  });

  it('ships recipes for the tool images and marks test images', () => {
    const recipes = loadRecipes();
    expect(recipes.find((r) => r.image === 'toolcage/text-tools')?.testOnly).toBeUndefined();
    expect(recipes.find((r) => r.image === 'toolcage-test/attack')?.testOnly).toBe(true);
  });

  it('a rebuild from scratch on the engine gives the same content identity, whatever the creation time', async () => {
    const recipe = loadRecipe('text-tools');
    const expected = identityOfTar(deterministicTar(rootfsEntries(recipe)));
    const first = await buildImage(recipe, { tag });
    expect(first.identity).toBe(expected);
    expect(await imageContentIdentity(tag)).toBe(expected);
    await docker.getImage(tag).remove();
    await new Promise((r) => setTimeout(r, 1100)); // a different Created second
    const second = await buildImage(recipe, { tag });
    expect(second.status).toBe('built');
    expect(second.imageId).not.toBe(first.imageId);
    expect(second.identity).toBe(expected);
    expect((await buildImage(recipe, { tag })).status).toBe('unchanged');
  });

  it('imageContentIdentity says how to fix a missing image (the CLI names the command)', async () => {
    const err = await imageContentIdentity('toolcage-test/never-built').catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'sandbox_unavailable',
      message:
        'The image toolcage-test/never-built is not present on the engine at unix:///var/run/docker.sock.',
      hint: { kind: 'build_images' },
    });
    expect(cliMessage(err)).toMatch(/Build the images with `toolcage images build`\.$/);
  });
});
