import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { ToolcageError } from '../errors/toolcage-error.ts';
import { canonicalJson, sha256Hex } from '../util/hash.ts';
import { parseManifest, type Manifest } from './manifest.ts';

/** Resolves the docker image's content identity (hex sha256); provided by the Docker backend. */
export type ImageIdentityResolver = (image: string) => Promise<string>;

/** One manifest read from disk, hashed, with the exact artifact bytes that were hashed. */
export interface ScannedTool {
  manifest: Manifest;
  manifestPath: string;
  manifestSha256: string;
  artifact: string;
  /** undefined: a docker image that could not be hashed here (no engine); the pin is checked before each run instead. */
  artifactSha256: string | undefined;
  /** js: the entry's bytes as text, decoded from exactly the bytes hashed. */
  source?: string;
}

const MAX_SOURCE_BYTES = 4 * 1024 * 1024;

/** Every `<dir>/<tool>/manifest.yaml` under the manifests folder, sorted. */
export function listManifestFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => join(dir, d.name, 'manifest.yaml'))
    .filter((f) => {
      try {
        return statSync(f).isFile();
      } catch {
        return false;
      }
    })
    .sort();
}

/** `manifestSha256`: sha256 of the JCS of the parsed, normalised manifest (defaults applied: what runs is what is pinned). */
export function manifestHash(manifest: Manifest): string {
  return sha256Hex(canonicalJson(manifest));
}

/** Reads one manifest and its artifact, hashing the bytes it keeps. */
export async function scanTool(
  dir: string,
  manifestFile: string,
  imageIdentity?: ImageIdentityResolver,
): Promise<ScannedTool> {
  const manifestPath = relative(dir, manifestFile).split(sep).join('/');
  const manifest = parseManifest(readFileSync(manifestFile, 'utf8'), manifestPath);
  const base = { manifest, manifestPath, manifestSha256: manifestHash(manifest) };
  if (manifest.runtime === 'js') {
    const entryFile = resolve(manifestFile, '..', manifest.entry);
    let bytes: Buffer;
    try {
      bytes = readFileSync(entryFile);
    } catch (cause) {
      throw new ToolcageError('registry_invalid', {
        message: `${manifest.id}: entry file ${entryFile} (${manifestPath}: entry: ${manifest.entry}) cannot be read: ${(cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist' : (cause as Error).message}.`,
        cause,
      });
    }
    if (bytes.length > MAX_SOURCE_BYTES)
      throw new ToolcageError('registry_invalid', {
        message: `${manifestPath}: entry ${manifest.entry} is larger than ${MAX_SOURCE_BYTES} bytes.`,
      });
    let source: string;
    try {
      source = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch (cause) {
      throw new ToolcageError('registry_invalid', {
        message: `${manifestPath}: entry ${manifest.entry} is not UTF-8.`,
        cause,
      });
    }
    return {
      ...base,
      artifact: relative(dir, entryFile).split(sep).join('/'),
      artifactSha256: sha256Hex(bytes),
      source,
    };
  }
  return {
    ...base,
    artifact: manifest.image,
    artifactSha256: imageIdentity ? await identityOrProblem(imageIdentity, manifest) : undefined,
  };
}

/** The image's content identity; a missing image is a registry problem naming the tool and the image. */
async function identityOrProblem(
  imageIdentity: ImageIdentityResolver,
  manifest: Manifest & { runtime: 'docker' },
): Promise<string> {
  try {
    return await imageIdentity(manifest.image);
  } catch (cause) {
    throw new ImageUnavailableError(manifest.id, manifest.image, cause);
  }
}

/**
 * A docker tool whose image the engine does not hold (or cannot hash). Kept
 * apart from a hash mismatch: the pinned content may still be fine once the
 * image is built, so a loading registry withholds only this tool.
 */
export class ImageUnavailableError extends ToolcageError {
  constructor(id: string, image: string, cause: unknown) {
    super('registry_invalid', {
      message: `${id}: image ${image} is not available: ${(cause as Error).message}. Build or load it (see docs/docker-images.md), then verify the registry again.`,
      hint: 'build_images',
      cause,
    });
  }
}
