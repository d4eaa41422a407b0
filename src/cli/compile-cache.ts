import { mkdirSync, lstatSync } from 'node:fs';
import module from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Node's on-disk module compile cache (`module.enableCompileCache`): V8 code
 * for each module the CLI loads, so a later start parses and compiles less
 * (roughly a third of a `serve` start-up's module loading here;
 * docs/performance.md).
 *
 * Why this is safe: whoever can write the cache decides what code runs (Node
 * checks each entry against its source's hash, but a crafted entry's code is
 * not the source's). So the cache lives only in a directory private to the
 * user running the CLI, `$XDG_CACHE_HOME/toolcage/compile-cache` (else
 * `~/.cache/...`): created 0700, and used only when it and its parent are real
 * directories owned by this user that no one else can write. Anyone who can
 * write there can already edit this user's installed `node_modules`; a shared
 * or foreign directory (`/tmp`, another user's) is never used. Nothing else
 * changes: a missing, corrupt or stale entry (another Node version, changed
 * source) is recompiled. `NODE_DISABLE_COMPILE_CACHE=1` turns it off; a
 * `NODE_COMPILE_CACHE` directory the user chose is left as is.
 */
export function enableCompileCache(): void {
  if (typeof module.enableCompileCache !== 'function') return;
  if (process.env.NODE_DISABLE_COMPILE_CACHE || process.env.NODE_COMPILE_CACHE) return;
  const uid = process.getuid?.();
  if (uid === undefined) return;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  const parent = join(base, 'toolcage');
  const dir = join(parent, 'compile-cache');
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (![parent, dir].every((d) => privateDirectory(d, uid))) return;
    module.enableCompileCache(dir);
  } catch {
    // An optimisation only: a read-only home or a full disk starts without it.
  }
}

/** A real directory (not a link to one), owned by `uid`, that no group or other user can write or read. */
function privateDirectory(path: string, uid: number): boolean {
  const s = lstatSync(path);
  return s.isDirectory() && s.uid === uid && (s.mode & 0o077) === 0;
}

/** Writes what was compiled so far (a service may be killed rather than exit). */
export function flushCompileCache(): void {
  try {
    module.flushCompileCache?.();
  } catch {
    // as above
  }
}
