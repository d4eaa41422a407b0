// The repository's committed registry lock (tool-manifests/registry.lock.json, signed with the
// development key in test/fixtures/dev-keys) must verify on a fresh machine that rebuilt the
// Docker images from Debian's packages: the image identity is derived from layer content only.
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildAllImages, imageContentIdentity } from '../../src/sandbox/docker/index.ts';
import { loadJwksFile } from '../../src/claims/keys.ts';
import { verifyRegistry } from '../../src/registry/verify.ts';

const root = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));

describe('the committed registry lock', () => {
  beforeAll(async () => {
    await buildAllImages(); // rebuild from the recipes (a no-op when the identity is unchanged)
  }, 120_000);

  it('verifies: signature, every manifest and JS source, and the rebuilt images', async () => {
    const result = await verifyRegistry({
      dir: root('tool-manifests'),
      lockKeys: loadJwksFile(root('test/fixtures/dev-keys/registry.jwks.json')),
      imageIdentity: (image) => imageContentIdentity(image),
    });
    expect(result).toEqual({ problems: [], unpinned: [], unverified: [] });
  });

  it('pins every example tool in tool-manifests/', async () => {
    const { readdirSync } = await import('node:fs');
    const dirs = readdirSync(root('tool-manifests'), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
    const { default: lock } = await import('../../tool-manifests/registry.lock.json', {
      with: { type: 'json' },
    });
    expect(lock.tools.map((t: { manifest: string }) => t.manifest.split('/')[0]).sort()).toEqual(
      dirs,
    );
  });
});
