// Layering invariants (STYLE.md "The shape of the project"): host code never imports guest code under
// sandboxes/, and the adapters (cli, http, mcp) reach the sandboxes only through src/executor and
// src/runtime, with a short explicit list of exceptions.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SRC = join(ROOT, 'src');

/** Adapters allowed to import src/sandbox directly, and why. */
const SANDBOX_IMPORT_EXCEPTIONS: Record<string, string> = {
  'src/cli/commands/images.ts':
    'builds and lists the Docker images (the image recipes live with the Docker backend)',
  'src/cli/commands/init.ts':
    'hashes the Docker images (content identity) to pin them in a new workspace lock',
  'src/cli/commands/registry.ts':
    'hashes the Docker images (content identity) for `registry lock|verify`',
};

interface Import {
  from: string;
  spec: string;
  typeOnly: boolean;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? walk(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
  );
}

/** Static imports and re-exports, and dynamic `import('...')` with a literal specifier. */
function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const out: Import[] = [];
  for (const m of text.matchAll(
    /^\s*(import|export)\s+(type\s+)?[^'"]*?\sfrom\s+['"]([^'"]+)['"]/gm,
  ))
    out.push({ from: file, spec: m[3]!, typeOnly: Boolean(m[2]) });
  for (const m of text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm))
    out.push({ from: file, spec: m[1]!, typeOnly: false });
  for (const m of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g))
    out.push({ from: file, spec: m[1]!, typeOnly: false });
  return out;
}

const rel = (p: string) => relative(ROOT, p).split(sep).join('/');
const target = (i: Import) =>
  i.spec.startsWith('.') ? rel(resolve(dirname(i.from), i.spec)) : i.spec;
const files = walk(SRC);
const imports = files.flatMap(importsOf);

it('finds the source tree and its imports (the test would be vacuous otherwise)', () => {
  expect(files.length).toBeGreaterThan(30);
  expect(imports.some((i) => target(i) === 'src/executor/executor.ts')).toBe(true);
  expect(imports.some((i) => /^src\/sandbox\//.test(target(i)))).toBe(true);
});

it('nothing under src/ imports from sandboxes/ (guest code)', () => {
  const bad = imports
    .filter((i) => /^sandboxes\//.test(target(i)) || /(^|\/)sandboxes\//.test(i.spec))
    .map((i) => `${rel(i.from)} -> ${i.spec}`);
  expect(bad).toEqual([]);
});

it('src/cli, src/http and src/mcp reach the sandbox only through src/executor or src/runtime (explicit exceptions aside)', () => {
  // Type-only imports are erased at runtime and couple nothing but a type name; they are allowed.
  const bad = imports
    .filter(
      (i) =>
        /^src\/(cli|http|mcp)\//.test(rel(i.from)) &&
        /^src\/sandbox\//.test(target(i)) &&
        !i.typeOnly,
    )
    .filter((i) => !Object.hasOwn(SANDBOX_IMPORT_EXCEPTIONS, rel(i.from)))
    .map((i) => `${rel(i.from)} -> ${target(i)}`);
  expect(bad).toEqual([]);
});

it('each exception exists and still imports src/sandbox, dynamic imports included (the list cannot grow stale)', () => {
  for (const f of Object.keys(SANDBOX_IMPORT_EXCEPTIONS)) {
    expect(files.map(rel)).toContain(f);
    expect(
      imports.filter((i) => rel(i.from) === f).some((i) => /^src\/sandbox\//.test(target(i))),
      f,
    ).toBe(true);
  }
});

it('every relative import in src/ names its .ts file explicitly (ESM, no extension guessing)', () => {
  const bad = imports
    .filter((i) => i.spec.startsWith('.') && !/\.(ts|js|json)$/.test(i.spec))
    .map((i) => `${rel(i.from)} -> ${i.spec}`);
  expect(bad).toEqual([]);
});

it('the executor does not import any adapter (the pipeline knows nothing of CLI, HTTP or MCP)', () => {
  const bad = imports
    .filter((i) => /^src\/executor\//.test(rel(i.from)) && /^src\/(cli|http|mcp)\//.test(target(i)))
    .map((i) => `${rel(i.from)} -> ${target(i)}`);
  expect(bad).toEqual([]);
});
