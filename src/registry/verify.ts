import { join } from 'node:path';
import { listManifestFiles, scanTool } from './scan.ts';
import { toolProblems } from './checks.ts';
import { compareEntry, readVerifiedLock } from './pins.ts';
import type { RegistryLock } from './lock.ts';
import type { RegistryOptions } from './registry.ts';

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
