import { ToolcageError } from '../../../errors/toolcage-error.ts';
import { dockerodeApi, type DockerApi } from '../api.ts';
import { buildGate } from './gate.ts';
import { loadRecipe, loadRecipes, rootfsEntries, type Recipe } from './recipe.ts';
import { deterministicTar, sha256Hex } from './tar.ts';

/** The engine socket toolcage talks to unless told otherwise. */
export const DEFAULT_SOCKET_PATH = '/var/run/docker.sock';

/**
 * The content identity of an image: hex sha256 of the JCS (RFC 8785) of its
 * `RootFS.Layers` diff-id list. A diff id is the sha256 of an uncompressed
 * layer tar, so the identity depends only on the files, never on creation
 * time or the engine's image id. For an array of ASCII strings JCS equals
 * `JSON.stringify`.
 *
 * @example identityOfLayers(['sha256:ab…']) // → '5f…' (64 hex digits)
 */
export function identityOfLayers(layers: readonly string[]): string {
  if (layers.length === 0 || !layers.every((l) => /^sha256:[0-9a-f]{64}$/.test(l))) {
    throw new Error('an image identity needs at least one sha256 layer diff id');
  }
  return sha256Hex(JSON.stringify(layers));
}

/** The identity an image built from this single-layer tar will have. */
export function identityOfTar(tar: Buffer): string {
  return identityOfLayers([`sha256:${sha256Hex(tar)}`]);
}

/** Full reference with a tag (`toolcage/text-tools` → `toolcage/text-tools:latest`). */
export function withTag(image: string): string {
  const lastSlash = image.lastIndexOf('/');
  return image.slice(lastSlash + 1).includes(':') ? image : `${image}:latest`;
}

export interface ImageOptions {
  /** Engine socket (default /var/run/docker.sock). */
  socketPath?: string;
  /** An explicit engine API (tests); wins over socketPath. */
  api?: DockerApi;
}

/**
 * The content identity of a local image (see {@link identityOfLayers}).
 * Throws when the image is not present on the engine.
 */
export async function imageContentIdentity(
  image: string,
  options: ImageOptions = {},
): Promise<string> {
  const api = options.api ?? dockerodeApi(options.socketPath ?? DEFAULT_SOCKET_PATH);
  const info = await api.inspectImage(withTag(image));
  if (!info)
    throw new ToolcageError('sandbox_unavailable', {
      message: `The image ${image} is not present on the engine at ${api.endpoint}.`,
      hint: 'build_images',
    });
  return identityOfLayers(info.RootFS.Layers);
}

export interface BuiltImage {
  image: string;
  /** The engine's image id (changes with every import; not an identity). */
  imageId: string;
  /** The content identity the registry lock pins as `artifactSha256`. */
  identity: string;
  /** `unchanged`: the engine already had an image with this content under this tag. */
  status: 'built' | 'unchanged';
  bytes: number;
}

export interface BuildImageOptions extends ImageOptions {
  /** Tag the result under this reference instead of the recipe's image name. */
  tag?: string;
  /** Replace file contents by image path (tests: a tampered rebuild). */
  overrides?: Record<string, Buffer>;
}

/**
 * Builds one recipe offline: a deterministic rootfs tar imported as a
 * single-layer image. Skips the import when the tag already holds exactly
 * this content; removes the image it replaces when nothing uses it.
 */
export async function buildImage(
  recipe: Recipe | string,
  options: BuildImageOptions = {},
): Promise<BuiltImage> {
  const r = typeof recipe === 'string' ? loadRecipe(recipe) : recipe;
  const api = options.api ?? dockerodeApi(options.socketPath ?? DEFAULT_SOCKET_PATH);
  const ref = withTag(options.tag ?? r.image);
  const tar = deterministicTar(rootfsEntries(r, options.overrides));
  const identity = identityOfTar(tar);
  const existing = await api.inspectImage(ref);
  if (existing && identityOfLayers(existing.RootFS.Layers) === identity) {
    return { image: ref, imageId: existing.Id, identity, status: 'unchanged', bytes: tar.length };
  }
  const colon = ref.lastIndexOf(':');
  const imageId = await api.importImage(tar, ref.slice(0, colon), ref.slice(colon + 1));
  const info = await api.inspectImage(imageId);
  const got = info ? identityOfLayers(info.RootFS.Layers) : undefined;
  if (got !== identity) {
    throw new Error(
      `the engine stored ${ref} with identity ${got ?? 'none'}, expected ${identity}: it altered the layer on import`,
    );
  }
  if (existing && existing.Id !== imageId) {
    // The replaced image is now untagged; drop it unless a container still uses it.
    await api.removeImage(existing.Id).catch(() => undefined);
  }
  return { image: ref, imageId, identity, status: 'built', bytes: tar.length };
}

export interface BuildAllOptions extends ImageOptions {
  /** Also build the test-only images (`toolcage-test/...`). */
  includeTest?: boolean;
  /** One call per image, when it is done. */
  onProgress?: (built: BuiltImage, index: number, total: number) => void;
}

/** Builds every recipe under `sandboxes/docker/` (test-only ones on request), in name order, and the pool gate. */
export async function buildAllImages(options: BuildAllOptions = {}): Promise<BuiltImage[]> {
  const api = options.api ?? dockerodeApi(options.socketPath ?? DEFAULT_SOCKET_PATH);
  const recipes = loadRecipes().filter((r) => options.includeTest === true || r.testOnly !== true);
  const out: BuiltImage[] = [];
  for (const [i, recipe] of recipes.entries()) {
    const built = await buildImage(recipe, { api });
    out.push(built);
    options.onProgress?.(built, i + 1, recipes.length);
  }
  // The warm pool's gate (see gate.ts) is built with the images: no pool runs without it.
  buildGate();
  return out;
}

export interface ListedImage {
  image: string;
  recipe: string;
  testOnly: boolean;
  /** Present when the engine has the image. */
  identity?: string;
  imageId?: string | undefined;
  /** Whether the local image matches what the recipe builds now. */
  upToDate: boolean;
}

/** Each recipe's image and whether the engine holds it, up to date. */
export async function listImages(options: ImageOptions = {}): Promise<ListedImage[]> {
  const api = options.api ?? dockerodeApi(options.socketPath ?? DEFAULT_SOCKET_PATH);
  const out: ListedImage[] = [];
  for (const recipe of loadRecipes()) {
    const ref = withTag(recipe.image);
    let expected: string | undefined;
    try {
      expected = identityOfTar(deterministicTar(rootfsEntries(recipe)));
    } catch (err) {
      // A test-only recipe may need a compiler this machine lacks: list it as not up to date rather than fail the listing.
      if (recipe.testOnly !== true) throw err;
    }
    const info = await api.inspectImage(ref);
    const identity = info ? identityOfLayers(info.RootFS.Layers) : undefined;
    out.push({
      image: ref,
      recipe: recipe.name,
      testOnly: recipe.testOnly === true,
      ...(identity ? { identity, imageId: info?.Id } : {}),
      upToDate: expected !== undefined && identity === expected,
    });
  }
  return out;
}
