import { join } from 'node:path';
import { ToolcageError } from '../errors/toolcage-error.ts';
import type { LoadedTool, WithheldTool } from '../ports/tool.ts';
import { LOCK_FILE_NAME } from './lock.ts';
import {
  ImageUnavailableError,
  scanTool,
  type ImageIdentityResolver,
  type ScannedTool,
} from './scan.ts';
import { toolProblems } from './checks.ts';
import { toLoadedTool } from './loaded-tool.ts';
import { compareEntry, readVerifiedLock, type LockSource } from './pins.ts';

/** A pinned tool that matches its pins but cannot run (schema, entry or image); the rest of the registry serves. */
export type { WithheldTool } from '../ports/tool.ts';

export type { LoadedTool };

export interface RegistryOptions extends LockSource {
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
