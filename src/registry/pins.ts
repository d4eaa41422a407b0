/**
 * The lock as the registry trusts it: read, parsed and signature-checked, and
 * each pinned entry compared with what is on disk now. Shared by loading the
 * registry and by `registry verify`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JSONWebKeySet } from 'jose';
import { ToolcageError } from '../errors/toolcage-error.ts';
import {
  LOCK_FILE_NAME,
  parseLock,
  verifyLockSignature,
  type LockEntry,
  type RegistryLock,
} from './lock.ts';
import type { ScannedTool } from './scan.ts';

/** Where the lock is and which keys it must be signed by. */
export interface LockSource {
  /** The manifests folder (holds `<tool>/manifest.yaml` and `registry.lock.json`). */
  dir: string;
  /** The platform's public JWKS the lock must be signed by. */
  lockKeys?: JSONWebKeySet;
  /** Accept an unsigned or mis-signed lock. For local experiments only; hashes are still checked. */
  insecureSkipLockSignature?: boolean;
}

/** The lock of `options.dir`, parsed, and verified against the platform keys unless told not to. */
export async function readVerifiedLock(options: LockSource): Promise<RegistryLock> {
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
