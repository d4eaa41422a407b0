// Attack: another local user plants compiled code in a module compile cache the CLI reads (a shared
// /tmp directory, a group-writable one, or a symlink to one), so the next `toolcage` runs their code.
// The CLI uses its compile cache only in a directory that is this user's alone (src/cli/compile-cache.ts).
import { execFile } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { CLI } from '../helpers/cli.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'toolcage-compile-cache-'));
  dirs.push(d);
  return d;
}

/** `toolcage --version` (which builds the whole command tree) with the cache under `xdg`. */
function runVersion(xdg: string): Promise<void> {
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: xdg };
  delete env.NODE_COMPILE_CACHE;
  delete env.NODE_DISABLE_COMPILE_CACHE;
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [CLI, '--version'], { env, timeout: 60_000 }, (err) =>
      err ? reject(err) : resolve(),
    ),
  );
}

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

it('uses a cache directory it created private to the user (0700), and fills it', async () => {
  const xdg = tempDir();
  await runVersion(xdg);
  const cache = join(xdg, 'toolcage', 'compile-cache');
  expect(filesUnder(cache).length).toBeGreaterThan(0);
}, 90_000);

it('neither reads nor writes a cache directory other users can write', async () => {
  const xdg = tempDir();
  const cache = join(xdg, 'toolcage', 'compile-cache');
  mkdirSync(cache, { recursive: true });
  chmodSync(cache, 0o777); // as a shared directory would be
  await runVersion(xdg);
  expect(filesUnder(cache)).toEqual([]);
}, 90_000);

it('neither reads nor writes a cache whose parent other users can write (they could swap it)', async () => {
  const xdg = tempDir();
  mkdirSync(join(xdg, 'toolcage', 'compile-cache'), { recursive: true, mode: 0o700 });
  chmodSync(join(xdg, 'toolcage'), 0o777);
  await runVersion(xdg);
  expect(filesUnder(join(xdg, 'toolcage'))).toEqual([]);
}, 90_000);

it('does not follow a symlink planted where the cache directory goes', async () => {
  const xdg = tempDir();
  const elsewhere = tempDir();
  chmodSync(elsewhere, 0o700);
  mkdirSync(join(xdg, 'toolcage'), { mode: 0o700 });
  symlinkSync(elsewhere, join(xdg, 'toolcage', 'compile-cache'));
  await runVersion(xdg);
  expect(filesUnder(elsewhere)).toEqual([]);
}, 90_000);
