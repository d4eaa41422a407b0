import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JSONWebKeySet } from 'jose';
import { ToolcageError } from '../errors/toolcage-error.ts';
import type { SigningKey } from '../claims/keys.ts';
import type { SandboxTool } from '../ports/sandbox.ts';
import type { LoadedTool, WithheldTool } from '../ports/tool.ts';
import { compileSchema } from '../validation/json-schema.ts';
import {
  LOCK_FILE_NAME,
  parseLock,
  signLock,
  verifyLockSignature,
  type LockEntry,
  type RegistryLock,
} from './lock.ts';
import {
  ImageUnavailableError,
  listManifestFiles,
  scanTool,
  type ImageIdentityResolver,
  type ScannedTool,
} from './scan.ts';
import { toolProblems } from './checks.ts';

/** A pinned tool that matches its pins but cannot run (schema, entry or image); the rest of the registry serves. */
export type { WithheldTool } from '../ports/tool.ts';

/** A copy without the keys whose value is undefined (optional limits the manifest leaves out). */
function withoutUndefined<T extends object>(
  value: T,
): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };
}

export type { LoadedTool };

export interface RegistryOptions {
  /** The manifests folder (holds `<tool>/manifest.yaml` and `registry.lock.json`). */
  dir: string;
  /** The platform's public JWKS the lock must be signed by. */
  lockKeys?: JSONWebKeySet;
  /** Accept an unsigned or mis-signed lock. For local experiments only; hashes are still checked. */
  insecureSkipLockSignature?: boolean;
  /** Docker image identity; without it docker tools cannot be verified and are not loaded. */
  imageIdentity?: ImageIdentityResolver;
}

export class Registry {
  readonly #tools: ReadonlyMap<string, LoadedTool>;
  /**
   * Docker tools whose image could not be hashed at load (no engine reachable):
   * their manifests are verified and they are listed, and the Docker backend
   * checks the pinned image identity before each run instead.
   */
  readonly unverified: readonly string[];
  /**
   * Pinned tools whose pins match but which cannot run (a schema the strict
   * validator refuses, an entry that imports or has no default export, a
   * Docker image the engine does not hold). They are not served; readiness
   * and `toolcage status` name them with their problems.
   */
  readonly withheld: readonly WithheldTool[];

  private constructor(
    tools: Map<string, LoadedTool>,
    unverified: string[],
    withheld: WithheldTool[],
  ) {
    this.#tools = tools;
    this.unverified = unverified;
    this.withheld = withheld;
  }

  get(id: string): LoadedTool | undefined {
    return this.#tools.get(id);
  }

  list(): LoadedTool[] {
    return [...this.#tools.values()];
  }

  /**
   * Loads only the tools the lock pins, and only when the lock's signature
   * verifies and every pinned hash matches what is on disk now. Any mismatch
   * refuses the whole load (`registry_invalid`): a tampered registry is
   * refused at start, never discovered at first use. Each JS tool keeps the
   * exact bytes it hashed, so nothing is re-read between hashing and running.
   * A tool whose pins match but which cannot run is withheld (see `withheld`)
   * while the others load: one broken tool does not take down the registry.
   */
  static async load(options: RegistryOptions): Promise<Registry> {
    const lockPath = join(options.dir, LOCK_FILE_NAME);
    const lock = await readVerifiedLock(options);
    const tools = new Map<string, LoadedTool>();
    const unverified: string[] = [];
    const withheld: WithheldTool[] = [];
    const problems: string[] = [];
    for (const entry of lock.tools) {
      let scanned: ScannedTool;
      try {
        scanned = await scanTool(
          options.dir,
          join(options.dir, entry.manifest),
          options.imageIdentity,
        );
      } catch (err) {
        if (err instanceof ImageUnavailableError)
          withheld.push({ id: entry.id, problems: [err.message] });
        else problems.push(err instanceof Error ? err.message : String(err));
        continue;
      }
      const mismatch = compareEntry(entry, scanned);
      if (mismatch.length > 0) {
        problems.push(...mismatch);
        continue;
      }
      const cannotRun = toolProblems(scanned);
      if (cannotRun.length > 0) {
        withheld.push({ id: entry.id, problems: cannotRun });
        continue;
      }
      if (scanned.artifactSha256 === undefined) unverified.push(entry.id);
      tools.set(entry.id, toLoadedTool({ ...scanned, artifactSha256: entry.artifactSha256 }));
    }
    if (problems.length > 0) {
      throw new ToolcageError('registry_invalid', {
        message: `Registry ${lockPath} does not match what is on disk; nothing was loaded:\n- ${problems.join('\n- ')}`,
        details: { problems },
      });
    }
    return new Registry(tools, unverified, withheld);
  }
}

async function readVerifiedLock(options: RegistryOptions): Promise<RegistryLock> {
  const lockPath = join(options.dir, LOCK_FILE_NAME);
  let text: string;
  try {
    text = readFileSync(lockPath, 'utf8');
  } catch (cause) {
    throw new ToolcageError('registry_invalid', {
      message: `No registry at ${lockPath}.`,
      hint: 'lock_registry',
      cause,
    });
  }
  const lock = parseLock(text, lockPath);
  if (!options.insecureSkipLockSignature) {
    if (!options.lockKeys)
      throw new ToolcageError('config_invalid', {
        message: 'registry.publicKeys is required to verify the lock signature.',
      });
    await verifyLockSignature(lock, options.lockKeys, lockPath);
  }
  return lock;
}

/** Each way a pinned entry differs from the scanned tool, as sentences naming the tool and the field. */
export function compareEntry(entry: LockEntry, scanned: ScannedTool): string[] {
  const out: string[] = [];
  const m = scanned.manifest;
  if (m.id !== entry.id) out.push(`${entry.manifest}: id is ${m.id}, pinned as ${entry.id}`);
  if (m.version !== entry.version)
    out.push(`${entry.id}: version is ${m.version}, pinned ${entry.version}`);
  if (m.runtime !== entry.runtime)
    out.push(`${entry.id}: runtime is ${m.runtime}, pinned ${entry.runtime}`);
  if (scanned.manifestSha256 !== entry.manifestSha256)
    out.push(
      `${entry.id}: manifest hash ${scanned.manifestSha256} differs from pinned ${entry.manifestSha256} (${entry.manifest} changed)`,
    );
  if (scanned.artifact !== entry.artifact)
    out.push(`${entry.id}: artifact is ${scanned.artifact}, pinned ${entry.artifact}`);
  if (scanned.artifactSha256 !== undefined && scanned.artifactSha256 !== entry.artifactSha256)
    out.push(
      `${entry.id}: artifact hash ${scanned.artifactSha256} differs from pinned ${entry.artifactSha256} (${entry.artifact} changed)`,
    );
  return out;
}

function toLoadedTool(s: ScannedTool & { artifactSha256: string }): LoadedTool {
  const m = s.manifest;
  const sandbox: SandboxTool = {
    id: m.id,
    version: m.version,
    runtime: m.runtime,
    limits: withoutUndefined(m.limits),
    ...(m.runtime === 'js'
      ? { source: s.source!, sourceHash: s.artifactSha256 }
      : {
          image: m.image,
          imageId: s.artifactSha256,
          command: [...m.command],
          ...(m.isolation ? { isolation: m.isolation } : {}),
        }),
  };
  return {
    manifest: m,
    manifestSha256: s.manifestSha256,
    artifactSha256: s.artifactSha256,
    validateInput: compileSchema(m.inputSchema, `${s.manifestPath}: inputSchema`),
    validateOutput: compileSchema(m.outputSchema, `${s.manifestPath}: outputSchema`),
    sandbox,
    summary: {
      id: m.id,
      version: m.version,
      description: m.description,
      inputSchema: m.inputSchema,
      outputSchema: m.outputSchema,
      runtime: m.runtime,
      risk: m.risk,
      scopes: [...m.scopes],
      hints: {
        ...(m.hints?.title ? { title: m.hints.title } : {}),
        readOnly: m.hints?.readOnly ?? m.risk === 'low',
        destructive: m.hints?.destructive ?? m.risk === 'high',
        idempotent: m.hints?.idempotent ?? m.risk === 'low',
      },
      openWorld: m.network !== 'none',
    },
  };
}

/** Scans every manifest in `dir` and returns the lock that pins them (unsigned). */
export async function buildLock(
  dir: string,
  imageIdentity?: ImageIdentityResolver,
): Promise<RegistryLock> {
  const tools: LockEntry[] = [];
  const problems: string[] = [];
  for (const file of listManifestFiles(dir)) {
    let s: ScannedTool;
    try {
      s = await scanTool(dir, file, imageIdentity);
    } catch (err) {
      problems.push((err as Error).message);
      continue;
    }
    const cannotRun = toolProblems(s);
    if (cannotRun.length > 0) {
      problems.push(...cannotRun);
      continue;
    }
    if (s.artifactSha256 === undefined) {
      throw new ToolcageError('sandbox_unavailable', {
        message: `${s.manifestPath}: image ${s.artifact} cannot be hashed: no Docker engine is reachable. Start the engine and build the images before locking.`,
        hint: 'build_images',
      });
    }
    tools.push({
      id: s.manifest.id,
      version: s.manifest.version,
      runtime: s.manifest.runtime,
      manifest: s.manifestPath,
      manifestSha256: s.manifestSha256,
      artifact: s.artifact,
      artifactSha256: s.artifactSha256,
    });
  }
  if (problems.length > 0)
    throw new ToolcageError('registry_invalid', {
      message: `Nothing was locked; fix these first:\n- ${problems.join('\n- ')}`,
      details: { problems },
    });
  tools.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const ids = new Set<string>();
  for (const t of tools) {
    if (ids.has(t.id))
      throw new ToolcageError('registry_invalid', { message: `Two manifests declare ${t.id}.` });
    ids.add(t.id);
  }
  return { version: 1, tools };
}

export async function writeSignedLock(
  dir: string,
  key: SigningKey,
  imageIdentity?: ImageIdentityResolver,
): Promise<RegistryLock> {
  const lock = await signLock(await buildLock(dir, imageIdentity), key);
  writeFileSync(join(dir, LOCK_FILE_NAME), `${JSON.stringify(lock, null, 2)}\n`);
  return lock;
}

/**
 * `registry verify`: every way the lock and the disk disagree (signature,
 * hashes, tools on disk that the lock does not pin). Empty means all pinned
 * hashes still match.
 */
export async function verifyRegistry(
  options: RegistryOptions,
): Promise<{ problems: string[]; unpinned: string[]; unverified: string[] }> {
  const problems: string[] = [];
  let lock: RegistryLock;
  try {
    lock = await readVerifiedLock(options);
  } catch (err) {
    return { problems: [(err as Error).message], unpinned: [], unverified: [] };
  }
  const pinnedPaths = new Set(lock.tools.map((t) => t.manifest));
  const unpinned = listManifestFiles(options.dir)
    .map((f) =>
      f
        .slice(options.dir.length)
        .replace(/^[\\/]+/, '')
        .split('\\')
        .join('/'),
    )
    .filter((p) => !pinnedPaths.has(p));
  const unverified: string[] = [];
  for (const entry of lock.tools) {
    try {
      const scanned = await scanTool(
        options.dir,
        join(options.dir, entry.manifest),
        options.imageIdentity,
      );
      if (scanned.artifactSha256 === undefined) unverified.push(entry.id);
      problems.push(...compareEntry(entry, scanned), ...toolProblems(scanned));
    } catch (err) {
      const message = (err as Error).message;
      problems.push(message.startsWith(`${entry.id}: `) ? message : `${entry.id}: ${message}`);
    }
  }
  return { problems, unpinned, unverified };
}
