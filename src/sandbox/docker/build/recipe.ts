import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { RootfsEntry } from './tar.ts';

/**
 * Where the image recipes live: `sandboxes/docker/` at the package root
 * (the same relative path from `src/sandbox/docker/build/` and `dist/sandbox/docker/build/`).
 * The host only reads these files as data; it never imports guest code.
 */
export const RECIPES_DIR = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../../../sandboxes/docker',
);

const absPath = z
  .string()
  .regex(/^\/[A-Za-z0-9._\-/]+$/)
  .refine((p) => !p.includes('//') && !p.split('/').includes('..'), 'normalised absolute path');

const recipeSchema = z.strictObject({
  image: z.string().regex(/^[a-z0-9][a-z0-9._\-/]*$/),
  description: z.string(),
  testOnly: z.boolean().optional(),
  binaries: z.array(z.strictObject({ package: z.string(), source: absPath, path: absPath })).min(1),
  applets: z
    .strictObject({ binary: absPath, names: z.array(z.string().regex(/^[a-z0-9[\]_-]+$/)) })
    .optional(),
  files: z.array(
    z.strictObject({ source: z.string(), path: absPath, mode: z.string().regex(/^0[0-7]{3}$/) }),
  ),
  /** C sources of the recipe, built into static binaries with `gcc -static -O2 -s` while the image is built (test images only). */
  compile: z
    .array(z.strictObject({ source: z.string().regex(/^[A-Za-z0-9_-]+\.c$/), path: absPath }))
    .optional(),
  user: z.strictObject({
    name: z.string().regex(/^[a-z][a-z0-9_-]*$/),
    uid: z.number().int().min(1),
    gid: z.number().int().min(1),
  }),
});

/** An image recipe (`sandboxes/docker/<name>/recipe.json`), parsed. */
export interface Recipe extends z.infer<typeof recipeSchema> {
  /** The recipe's folder name. */
  name: string;
  dir: string;
}

/** Reads one recipe by folder name. */
export function loadRecipe(name: string, dir: string = RECIPES_DIR): Recipe {
  const folder = join(dir, name);
  const parsed = recipeSchema.safeParse(
    JSON.parse(readFileSync(join(folder, 'recipe.json'), 'utf8')),
  );
  if (!parsed.success) throw new Error(`invalid recipe ${name}: ${parsed.error.message}`);
  return { ...parsed.data, name, dir: folder };
}

/** Every recipe under the recipes folder, sorted by name. */
export function loadRecipes(dir: string = RECIPES_DIR): Recipe[] {
  return readdirSync(dir)
    .filter((name) => statSync(join(dir, name)).isDirectory())
    .filter((name) => {
      try {
        statSync(join(dir, name, 'recipe.json'));
        return true;
      } catch {
        return false;
      }
    })
    .sort()
    .map((name) => loadRecipe(name, dir));
}

/** Whether an ELF file is statically linked (has no PT_INTERP program header, so needs no loader or libraries). */
export function isStaticElf(data: Buffer): boolean {
  if (data.length < 64 || data.readUInt32BE(0) !== 0x7f454c46) throw new Error('not an ELF file');
  const is64 = data[4] === 2;
  const le = data[5] === 1;
  const u16 = (o: number): number => (le ? data.readUInt16LE(o) : data.readUInt16BE(o));
  const u32 = (o: number): number => (le ? data.readUInt32LE(o) : data.readUInt32BE(o));
  const phoff = is64 ? Number(le ? data.readBigUInt64LE(32) : data.readBigUInt64BE(32)) : u32(28);
  const phentsize = u16(is64 ? 54 : 42);
  const phnum = u16(is64 ? 56 : 44);
  for (let i = 0; i < phnum; i++) {
    if (u32(phoff + i * phentsize) === 3 /* PT_INTERP */) return false;
  }
  return true;
}

/** Compiled binaries by source hash: a source builds to the same bytes every time (see compileStatic). */
const compiled = new Map<string, Buffer>();

/**
 * Builds one of a recipe's C sources into a static binary: `gcc -static -O2 -s`,
 * run in the recipe's folder with a relative source name, stripped, so the
 * same source and compiler give the same bytes (and the image the same
 * identity). Fails with what is missing when gcc or the static C library is.
 */
export function compileStatic(recipe: Recipe, source: string): Buffer {
  const file = resolve(recipe.dir, source);
  const text = readFileSync(file);
  const key = createHash('sha256').update(text).digest('hex');
  const cached = compiled.get(key);
  if (cached) return cached;
  const out = mkdtempSync(join(tmpdir(), 'toolcage-cc-'));
  try {
    try {
      execFileSync('gcc', ['-static', '-O2', '-s', '-o', join(out, 'a.out'), source], {
        cwd: recipe.dir,
        stdio: ['ignore', 'ignore', 'pipe'],
        timeout: 120_000,
      });
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
      if (e.code === 'ENOENT') {
        throw new Error(
          `recipe ${recipe.name} compiles ${source} with \`gcc -static -O2\`, but gcc is not installed on this machine. Install gcc and libc6-dev (the static C library), or skip this test-only image.`,
          { cause: err },
        );
      }
      const detail = (e.stderr?.toString('utf8') ?? '').trim().split('\n').slice(-3).join(' | ');
      throw new Error(
        `recipe ${recipe.name}: \`gcc -static -O2 ${source}\` failed${detail ? `: ${detail}` : ''}. A static build needs gcc and libc6-dev (libc.a).`,
        { cause: err },
      );
    }
    const data = readFileSync(join(out, 'a.out'));
    if (!isStaticElf(data))
      throw new Error(
        `recipe ${recipe.name}: gcc built ${source} as a dynamic binary; a recipe copies static binaries only`,
      );
    compiled.set(key, data);
    return data;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/**
 * The root filesystem a recipe describes, as tar entries: the static
 * binaries copied from the machine's Debian packages, the recipe's C
 * sources built static (test images), applet symlinks, the
 * recipe's own files, a two-line /etc/passwd and /etc/group naming the
 * non-root user, and empty mount points. `overrides` replaces file contents
 * by image path (tests use it to build a tampered image).
 */
export function rootfsEntries(
  recipe: Recipe,
  overrides: Record<string, Buffer> = {},
): RootfsEntry[] {
  const entries: RootfsEntry[] = [];
  const dirs = new Set<string>(['/etc', '/tmp', '/proc', '/sys', '/dev', '/dev/shm']);
  const addParents = (path: string): void => {
    let d = dirname(path);
    while (d !== '/') {
      dirs.add(d);
      d = dirname(d);
    }
  };
  const fileData = (path: string, read: () => Buffer): Buffer => overrides[path] ?? read();
  for (const bin of recipe.binaries) {
    const data = fileData(bin.path, () => readFileSync(bin.source));
    if (!Object.hasOwn(overrides, bin.path) && !isStaticElf(data)) {
      throw new Error(
        `${bin.source} (package ${bin.package}) is not statically linked; a recipe copies static binaries only`,
      );
    }
    entries.push({ type: 'file', path: bin.path, mode: 0o555, data });
    addParents(bin.path);
  }
  for (const c of recipe.compile ?? []) {
    entries.push({
      type: 'file',
      path: c.path,
      mode: 0o555,
      data: fileData(c.path, () => compileStatic(recipe, c.source)),
    });
    addParents(c.path);
  }
  if (recipe.applets) {
    const binDir = dirname(recipe.applets.binary);
    const target = recipe.applets.binary.slice(binDir.length + 1);
    for (const name of recipe.applets.names) {
      entries.push({ type: 'symlink', path: `${binDir}/${name}`, target });
    }
  }
  for (const file of recipe.files) {
    const data = fileData(file.path, () => readFileSync(resolve(recipe.dir, file.source)));
    entries.push({ type: 'file', path: file.path, mode: Number.parseInt(file.mode, 8), data });
    addParents(file.path);
  }
  const { name, uid, gid } = recipe.user;
  entries.push({
    type: 'file',
    path: '/etc/passwd',
    mode: 0o444,
    data: fileData('/etc/passwd', () =>
      Buffer.from(
        `root:x:0:0:root:/:/bin/false\n${name}:x:${uid}:${gid}:${name}:/tmp:/bin/false\n`,
      ),
    ),
  });
  entries.push({
    type: 'file',
    path: '/etc/group',
    mode: 0o444,
    data: fileData('/etc/group', () => Buffer.from(`root:x:0:\n${name}:x:${gid}:\n`)),
  });
  for (const dir of dirs)
    entries.push({ type: 'dir', path: dir, mode: dir === '/tmp' ? 0o1777 : 0o755 });
  return entries;
}
