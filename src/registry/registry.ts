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

/** A lock entry whose pins matched at load, or that was withheld before any check (its image). */
type Pinned =
  { id: string; scanned: ScannedTool; artifactSha256: string } | { id: string; withheld: string[] };

interface Checked {
  tools: ReadonlyMap<string, LoadedTool>;
  unverified: readonly string[];
  withheld: readonly WithheldTool[];
}

export class Registry {
  #pinned: readonly Pinned[] | undefined;
  #checked: Checked | undefined;

  private constructor(pinned: Pinned[]) {
    this.#pinned = pinned;
  }

  get(id: string): LoadedTool | undefined {
    return this.#check().tools.get(id);
  }

  list(): LoadedTool[] {
    return [...this.#check().tools.values()];
  }

  /**
   * Docker tools whose image could not be hashed at load (no engine reachable):
   * their manifests are verified and they are listed, and the Docker backend
   * checks the pinned image identity before each run instead.
   */
  get unverified(): readonly string[] {
    return this.#check().unverified;
  }

  /**
   * Pinned tools whose pins match but which cannot run (a schema the strict
   * validator refuses, an entry that imports or has no default export, a
   * Docker image the engine does not hold). They are not served; readiness
   * and `toolcage status` name them with their problems.
   */
  get withheld(): readonly WithheldTool[] {
    return this.#check().withheld;
  }

  /**
   * Runs the checks of whether each pinned tool can run (see `toolProblems`)
   * and compiles the validators of those that can, once. Every accessor runs
   * them first, so no one sees a tool, a validator or the withheld list
   * before they have run; `load` only verifies. Their outcome depends only on
   * the bytes the verified lock pins, which the registry already holds, so
   * running them later reads nothing again. They are most of the per-tool
   * cost of a load (Ajv generating code, acorn parsing each entry), and a
   * service's first registry is often replaced (by the load with image
   * identities) before anything looks: `serve` listens without them.
   */
  check(): void {
    this.#check();
  }

  #check(): Checked {
    if (this.#checked) return this.#checked;
    const tools = new Map<string, LoadedTool>();
    const unverified: string[] = [];
    const withheld: WithheldTool[] = [];
    for (const p of this.#pinned!) {
      if ('withheld' in p) {
        withheld.push({ id: p.id, problems: p.withheld });
        continue;
      }
      const cannotRun = toolProblems(p.scanned);
      if (cannotRun.length > 0) {
        withheld.push({ id: p.id, problems: cannotRun });
        continue;
      }
      if (p.scanned.artifactSha256 === undefined) unverified.push(p.id);
      tools.set(p.id, toLoadedTool({ ...p.scanned, artifactSha256: p.artifactSha256 }));
    }
    this.#checked = { tools, unverified, withheld };
    this.#pinned = undefined; // the tools now hold what they need
    return this.#checked;
  }

  /**
   * Loads only the tools the lock pins, and only when the lock's signature
   * verifies and every pinned hash matches what is on disk now. Any mismatch
   * refuses the whole load (`registry_invalid`): a tampered registry is
   * refused at start, never discovered at first use. Each JS tool keeps the
   * exact bytes it hashed, so nothing is re-read between hashing and running.
   * A tool whose pins match but which cannot run is withheld (see `withheld`)
   * while the others load: one broken tool does not take down the registry.
   * Whether a tool can run is checked on first use of the registry (`check`).
   */
  static async load(options: RegistryOptions): Promise<Registry> {
    const lockPath = join(options.dir, LOCK_FILE_NAME);
    const lock = await readVerifiedLock(options);
    const pinned: Pinned[] = [];
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
          pinned.push({ id: entry.id, withheld: [err.message] });
        else problems.push(err instanceof Error ? err.message : String(err));
        continue;
      }
      const mismatch = compareEntry(entry, scanned);
      if (mismatch.length > 0) {
        problems.push(...mismatch);
        continue;
      }
      pinned.push({ id: entry.id, scanned, artifactSha256: entry.artifactSha256 });
    }
    if (problems.length > 0) {
      throw new ToolcageError('registry_invalid', {
        message: `Registry ${lockPath} does not match what is on disk; nothing was loaded:\n- ${problems.join('\n- ')}`,
        details: { problems },
      });
    }
    return new Registry(pinned);
  }
}
