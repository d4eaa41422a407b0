/** Writing the lock: scan every manifest, refuse on any problem, pin each tool's hashes, sign. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ToolcageError } from '../errors/toolcage-error.ts';
import type { SigningKey } from '../claims/keys.ts';
import { LOCK_FILE_NAME, signLock, type LockEntry, type RegistryLock } from './lock.ts';
import {
  listManifestFiles,
  scanTool,
  type ImageIdentityResolver,
  type ScannedTool,
} from './scan.ts';
import { toolProblems } from './checks.ts';

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
