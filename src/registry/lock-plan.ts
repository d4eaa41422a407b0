import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JSONWebKeySet } from 'jose';
import { ToolcageError } from '../errors/toolcage-error.ts';
import type { SigningKey } from '../claims/keys.ts';
import {
  LOCK_FILE_NAME,
  parseLock,
  signLock,
  verifyLockSignature,
  type LockEntry,
  type RegistryLock,
} from './lock.ts';
import { buildLock } from './lock-build.ts';
import type { ImageIdentityResolver } from './scan.ts';

/** One pin as the operator reviews it. */
export interface PinSummary {
  version: string;
  manifestSha256: string;
  artifact: string;
  artifactSha256: string;
}

export type PinChange =
  | { id: string; change: 'added'; new: PinSummary }
  | { id: string; change: 'removed'; old: PinSummary }
  | { id: string; change: 'changed'; old: PinSummary; new: PinSummary };

function summary(e: LockEntry): PinSummary {
  return {
    version: e.version,
    manifestSha256: e.manifestSha256,
    artifact: e.artifact,
    artifactSha256: e.artifactSha256,
  };
}

/** What re-pinning would change, tool by tool (unchanged tools are left out). */
export function diffLocks(previous: RegistryLock | undefined, next: RegistryLock): PinChange[] {
  const before = new Map((previous?.tools ?? []).map((t) => [t.id, t]));
  const after = new Map(next.tools.map((t) => [t.id, t]));
  const out: PinChange[] = [];
  for (const [id, t] of after) {
    const old = before.get(id);
    if (!old) out.push({ id, change: 'added', new: summary(t) });
    else if (
      JSON.stringify(summary(old)) !== JSON.stringify(summary(t)) ||
      old.manifest !== t.manifest
    )
      out.push({ id, change: 'changed', old: summary(old), new: summary(t) });
  }
  for (const [id, t] of before)
    if (!after.has(id)) out.push({ id, change: 'removed', old: summary(t) });
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export interface LockRegistryOptions {
  dir: string;
  key: SigningKey;
  imageIdentity?: ImageIdentityResolver;
  /** Tool ids whose changed pins the operator reviewed and accepts. */
  accept?: readonly string[];
  /** Accept every changed pin (and a previous lock that no longer verifies). */
  acceptAll?: boolean;
  /** The platform JWKS: the previous lock must verify against it to be trusted as the baseline. */
  lockKeys?: JSONWebKeySet;
}

function readPrevious(dir: string): RegistryLock | undefined {
  const file = join(dir, LOCK_FILE_NAME);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  return parseLock(text, file);
}

/**
 * `toolcage registry lock`: checks and pins every tool, and writes the signed
 * lock only when each changed pin was accepted by id (or `acceptAll`). An
 * unnoticed edit or a tampered file therefore cannot be signed silently; the
 * returned changes name each added, changed and removed pin with its old and
 * new hashes.
 */
export async function lockRegistry(
  options: LockRegistryOptions,
): Promise<{ lock: RegistryLock; changes: PinChange[] }> {
  const previous = readPrevious(options.dir);
  if (previous && options.lockKeys && !options.acceptAll) {
    try {
      await verifyLockSignature(previous, options.lockKeys, join(options.dir, LOCK_FILE_NAME));
    } catch (err) {
      throw new ToolcageError('registry_invalid', {
        message: `${(err as Error).message} It cannot be the baseline for a review; inspect every tool and re-run with --accept-all.`,
        cause: err,
      });
    }
  }
  const next = await buildLock(options.dir, options.imageIdentity);
  const changes = diffLocks(previous, next);
  const accepted = new Set(options.accept ?? []);
  const unaccepted = changes.filter(
    (c) => c.change === 'changed' && !options.acceptAll && !accepted.has(c.id),
  );
  if (unaccepted.length > 0) {
    throw new ToolcageError('registry_invalid', {
      message: `Refusing to re-pin changed tools without review; nothing was written:\n- ${unaccepted
        .map((c) => describeChange(c))
        .join(
          '\n- ',
        )}\nReview each change, then re-run with ${unaccepted.map((c) => `--accept ${c.id}`).join(' ')} (or --accept-all).`,
      details: { changes: unaccepted },
    });
  }
  const lock = await signLock(next, options.key);
  writeFileSync(join(options.dir, LOCK_FILE_NAME), `${JSON.stringify(lock, null, 2)}\n`);
  return { lock, changes };
}

/** One line per change: `changed text.word_count manifest a… → b…, artifact …`. */
export function describeChange(c: PinChange): string {
  if (c.change === 'added')
    return `added ${c.id}@${c.new.version} manifest ${c.new.manifestSha256} artifact ${c.new.artifact} ${c.new.artifactSha256}`;
  if (c.change === 'removed')
    return `removed ${c.id}@${c.old.version} (was manifest ${c.old.manifestSha256} artifact ${c.old.artifactSha256})`;
  const parts: string[] = [];
  if (c.old.version !== c.new.version) parts.push(`version ${c.old.version} → ${c.new.version}`);
  if (c.old.manifestSha256 !== c.new.manifestSha256)
    parts.push(`manifest ${c.old.manifestSha256} → ${c.new.manifestSha256}`);
  if (c.old.artifact !== c.new.artifact)
    parts.push(`artifact ${c.old.artifact} → ${c.new.artifact}`);
  if (c.old.artifactSha256 !== c.new.artifactSha256)
    parts.push(`artifact hash ${c.old.artifactSha256} → ${c.new.artifactSha256}`);
  return `changed ${c.id}: ${parts.join(', ')}`;
}
