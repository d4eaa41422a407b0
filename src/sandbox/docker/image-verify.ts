import type { SandboxTool } from '../../ports/sandbox.ts';
import type { DockerApi, ImageInfo } from './api.ts';
import { identityOfLayers, withTag } from './build/images.ts';

/** An image that passed verification: the engine's id for it (what containers are made from). */
export type VerifiedImage =
  | { imageId: string }
  | { code: 'sandbox_unavailable' | 'sandbox_failed'; message: string; hint: 'build_images' };

function isEmpty(value: unknown): boolean {
  if (value === null || value === undefined || value === '' || value === false) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object') return Object.keys(value).length === 0;
  return false;
}

/**
 * The image config fields that are set. The engine applies an image's
 * config to every container made from it (Env is merged into the
 * container's, Volumes become writable anonymous volumes, a Healthcheck
 * runs a command inside, OnBuild, User, WorkingDir, Entrypoint, Cmd,
 * StopSignal, Labels…). toolcage's images are imported from a bare rootfs
 * and have none: an image whose config sets anything was made some other
 * way (re-tagged, committed, built on top) and is refused, whatever its
 * layers (issue 16, item 12).
 */
export function appliedConfigFields(info: Pick<ImageInfo, 'Config'>): string[] {
  const config = info.Config ?? {};
  return Object.keys(config)
    .filter((k) => !isEmpty(config[k]))
    .sort();
}

/**
 * Verifies images against their pinned identity: the layers' content
 * identity, and an empty run config. `identities` caches engine image id →
 * layer identity (an engine image id names immutable content).
 */
export class ImageVerifier {
  private readonly identities = new Map<string, string>();
  private readonly api: DockerApi;

  constructor(api: DockerApi) {
    this.api = api;
  }

  /** Resolves the tool's image to an engine image id whose content matches the pinned identity, or a failure. */
  async verify(tool: SandboxTool): Promise<VerifiedImage> {
    const image = tool.image as string;
    const info = await this.api.inspectImage(withTag(image));
    if (!info) {
      return {
        code: 'sandbox_unavailable',
        message: `The image ${image} is not on the Docker engine at ${this.api.endpoint}. Build the images.`,
        hint: 'build_images',
      };
    }
    let identity = this.identities.get(info.Id);
    if (identity === undefined) {
      identity = identityOfLayers(info.RootFS.Layers);
      this.identities.set(info.Id, identity);
    }
    if (identity !== tool.imageId) {
      return {
        code: 'sandbox_failed',
        message: `Refusing to run ${tool.id}: the local image ${image} has content identity ${identity.slice(0, 12)}…, not the ${String(tool.imageId).slice(0, 12)}… pinned in the registry. Rebuild it from the shipped recipes; if it still differs, the recipe or the machine's packages changed and the lock must be reviewed.`,
        hint: 'build_images',
      };
    }
    const applied = appliedConfigFields(info);
    if (applied.length > 0) {
      return {
        code: 'sandbox_failed',
        message: `Refusing to run ${tool.id}: the local image ${image} has the pinned layers but also sets ${applied.join(', ')} in its config, which the engine would apply to the container; toolcage's images carry no config. Rebuild it.`,
        hint: 'build_images',
      };
    }
    return { imageId: info.Id };
  }
}
